"""What a person does in the browser: log in to the App, wait for JupyterLab, run a cell, save a notebook."""

import requests
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    ElementNotInteractableException,
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from harness.app import DEMO
from harness.stack import APP_FRONTEND_URL, APP_URL, HUB_URL

LAB_TIMEOUT = 180  # a cold server start plus JupyterLab's first load on two cores


# JupyterLab re-renders as it loads: an element found a moment ago may be gone or covered.
NOT_YET = (
    NoSuchElementException,
    StaleElementReferenceException,
    ElementClickInterceptedException,
    ElementNotInteractableException,
)


def wait(browser, condition, what: str, timeout: float = 30):
    """Poll ``condition`` until it holds; fail saying what was awaited."""
    return WebDriverWait(browser, timeout, poll_frequency=0.5, ignored_exceptions=NOT_YET).until(
        condition, f"timed out after {timeout}s waiting for {what}"
    )


def click(browser, css: str, what: str, timeout: float = 30):
    """Find and click ``css`` as soon as it can be clicked."""

    def clicked(b):
        b.find_element(By.CSS_SELECTOR, css).click()
        return True

    wait(browser, clicked, f"{what} to be clickable", timeout)


def log_in_to_app(browser, who: str, start: str = f"{APP_URL}/login"):
    """Fill in the App's login form (from ``start``, which may be a redirect to it)."""
    email, password = DEMO[who]
    browser.get(start)
    wait(browser, ready.presence_of_element_located((By.NAME, "email")), "the App's login form")
    browser.find_element(By.NAME, "email").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys(password)
    submit = browser.find_element(By.ID, "login-submit")
    submit.click()
    # Until the form's page is gone, the login is still in flight: a page opened now
    # would race it (and meet the login redirect, or be replaced by the login's own).
    wait(browser, left(submit), "the App's login to be sent and its page left")


def left(element):
    """Selenium's staleness_of, for Chromium too: asked about an element whose page is gone, it sometimes
    answers "Node with given id does not belong to the document" rather than "stale element"."""

    def gone(_):
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
        return False

    return gone


def wait_for_lab(browser, timeout: float = LAB_TIMEOUT):
    """JupyterLab is ready: the splash is gone and the launcher is shown."""
    wait(
        browser, ready.presence_of_element_located((By.CSS_SELECTOR, ".jp-Launcher")), "JupyterLab's launcher", timeout
    )
    wait(browser, ready.invisibility_of_element_located((By.ID, "jupyterlab-splash")), "JupyterLab's splash to go")


def open_own_lab(browser, who: str):
    """Log in to the App, then open the hub (the App's login sends the browser there): their JupyterLab."""
    log_in_to_app(browser, who, start=f"{APP_URL}/login?next={HUB_URL}/hub/")
    wait_for_lab(browser)


def open_workspace_in_the_app(browser, workspace: str) -> str:
    """The App's notebooks page of ``workspace``: it launches the server, polls until ready, then frames it.

    Leaves the browser in JupyterLab inside the frame; returns the frame's URL.
    """
    browser.get(f"{APP_FRONTEND_URL}/workspaces/{workspace}/notebooks")
    frame = wait(
        browser, ready.presence_of_element_located((By.ID, "notebooks-frame")), "the App's notebooks iframe", 180
    )
    src = frame.get_attribute("src")
    browser.switch_to.frame(frame)
    wait_for_lab(browser)
    return src


def run_in_new_notebook(browser, code: str, expected: str, timeout: float = 120, kernel: str | None = None) -> str:
    """Open a notebook from the launcher, run ``code``, return the output once it shows ``expected``.

    ``kernel``: the launcher card's name (a kernel's display name, ``R``); the first notebook card
    (Python's) by default.
    """
    card = ".jp-LauncherCard[data-category='Notebook']" + (f"[title='{kernel}']" if kernel else "")
    click(browser, card, f"the launcher's {kernel or 'first'} notebook card")
    # Code sent before the kernel is connected can be dropped: wait for it to be idle.
    statusbar = (By.ID, "jp-main-statusbar")
    wait(browser, ready.text_to_be_present_in_element(statusbar, "Idle"), "the new notebook's kernel to be idle", 120)
    click(browser, ".jp-NotebookPanel .jp-Cell .cm-content", "the new notebook's first cell")
    editor = browser.switch_to.active_element
    editor.send_keys(code)
    editor.send_keys(Keys.SHIFT, Keys.ENTER)

    # Each stream is an output of its own (R's messages come on stderr, before its results).
    def shown(b):
        return next((o.text for o in b.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-OutputArea-output")
                     if expected in o.text), None)  # fmt: skip

    return wait(browser, shown, f"a cell output showing {expected!r}", timeout)


def server_session(browser, server_url: str) -> requests.Session:
    """The person's own credentials for their server at ``server_url``, as JupyterLab uses them.

    Opens JupyterLab there at top level, where the server's cookies are visible,
    and returns a session that sends them and the XSRF header.
    """
    browser.get(f"{server_url}lab")
    wait_for_lab(browser)
    session = requests.Session()
    for cookie in browser.get_cookies():
        session.cookies.set(cookie["name"], cookie["value"], path=cookie.get("path", "/"))
    session.headers["X-XSRFToken"] = session.cookies.get("_xsrf", "")
    return session


def notebook_with(source: str) -> dict:
    """A one-cell Python notebook, as the contents API takes it."""
    cell = {"cell_type": "code", "source": source, "metadata": {}, "outputs": [], "execution_count": None}
    content = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return {"type": "notebook", "format": "json", "content": content}


def save_notebook(session: requests.Session, server_url: str, path: str, source: str):
    """Save a notebook through the server's contents API, as JupyterLab's save does."""
    response = session.put(f"{server_url}api/contents/{path}", json=notebook_with(source), timeout=60)
    assert response.status_code in (200, 201), f"saving {path}: {response.status_code} {response.text[:300]}"


def notebook_source(session: requests.Session, server_url: str, path: str) -> str | None:
    """The first cell's source of a saved notebook, or None when it is not there."""
    response = session.get(f"{server_url}api/contents/{path}", timeout=60)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, f"reading {path}: {response.status_code} {response.text[:300]}"
    return response.json()["content"]["cells"][0]["source"]
