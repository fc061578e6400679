"""Debian's headless Chromium, driven through Debian's ChromeDriver."""

from __future__ import annotations


def new_browser(loopback_domain: str | None = None):
    """Debian's headless Chromium through Debian's ChromeDriver; nothing is downloaded.

    ``loopback_domain`` (e.g. ``example.org``): that domain and every name under it resolve to
    127.0.0.1 in this browser (Chromium's own host resolver rules; nothing else changes), for a
    deployment's layout on one machine: the App at ``app.<domain>``, the hub at ``notebooks.<domain>``,
    one site as the browser counts sites, which ``localhost`` names are not."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--no-first-run",
        "--window-size=1400,1000",
    ):  # fmt: skip
        options.add_argument(flag)
    if loopback_domain:
        options.add_argument(f"--host-resolver-rules=MAP {loopback_domain} 127.0.0.1,MAP *.{loopback_domain} 127.0.0.1")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(120)
    return driver
