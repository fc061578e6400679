"""What a person does in the browser: log in to the App, wait for JupyterLab, run a cell."""

from selenium.common.exceptions import (
    ElementClickInterceptedException,
    ElementNotInteractableException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import DEMO
from tests.support import APP_URL

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
    browser.find_element(By.ID, "login-submit").click()


def wait_for_lab(browser, timeout: float = LAB_TIMEOUT):
    """JupyterLab is ready: the splash is gone and the launcher is shown."""
    wait(
        browser, ready.presence_of_element_located((By.CSS_SELECTOR, ".jp-Launcher")), "JupyterLab's launcher", timeout
    )
    wait(browser, ready.invisibility_of_element_located((By.ID, "jupyterlab-splash")), "JupyterLab's splash to go")


def run_in_new_notebook(browser, code: str, expected: str, timeout: float = 120) -> str:
    """Open a Python notebook from the launcher, run ``code``, return the output once it shows ``expected``."""
    click(browser, ".jp-LauncherCard[data-category='Notebook']", "the launcher's notebook card")
    # Code sent before the kernel is connected can be dropped: wait for it to be idle.
    statusbar = (By.ID, "jp-main-statusbar")
    wait(browser, ready.text_to_be_present_in_element(statusbar, "Idle"), "the new notebook's kernel to be idle", 120)
    click(browser, ".jp-NotebookPanel .jp-Cell .cm-content", "the new notebook's first cell")
    editor = browser.switch_to.active_element
    editor.send_keys(code)
    editor.send_keys(Keys.SHIFT, Keys.ENTER)
    output = (By.CSS_SELECTOR, ".jp-NotebookPanel .jp-OutputArea-output")
    wait(browser, ready.text_to_be_present_in_element(output, expected), f"a cell output showing {expected!r}", timeout)
    return browser.find_element(*output).text
