"""The dashboard in a real headless Chromium (Debian's, driven by Selenium over chromedriver).

Skipped when /usr/bin/chromium or /usr/bin/chromedriver is missing; ``.ci/run`` installs both.
Screenshots go to bench/out/screens/.
"""

from __future__ import annotations

import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait
from werkzeug.serving import BaseWSGIServer, make_server

from nssa.stores.sqlite import SqliteStore
from tests.conftest import T0, build_alert
from tests.dashboard_scene import ORGANISATION, XSS, fill
from tests.dashboard_users import PASSWORD, make_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENS = Path(__file__).resolve().parents[1] / "bench" / "out" / "screens"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path_factory.mktemp("browser") / "nssa.db") as opened:
        fill(opened)
        yield opened


@pytest.fixture(scope="module")
def base_url(store: SqliteStore) -> Iterator[str]:
    """The dashboard served on a free local port from a thread."""
    app = make_app(store, {"organisation": ORGANISATION, "TESTING": False})
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The socket listens from make_server on; one connection proves it, no sleeping.
    socket.create_connection(("127.0.0.1", server.server_port), timeout=5).close()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Headless Chromium that downloads nothing and keeps no profile."""
    with tempfile.TemporaryDirectory(prefix="nssa-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1920,1080",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(flag)
        # An explicit driver path: Selenium Manager never runs, so nothing is downloaded.
        driver = webdriver.Chrome(
            service=Service(executable_path=str(CHROMEDRIVER)), options=options
        )
        driver.implicitly_wait(5)
        try:
            yield driver
        finally:
            driver.quit()


def shot(driver: WebDriver, name: str) -> None:
    """Save a screenshot of the current page as bench/out/screens/NAME.png."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENS / f"{name}.png"))


def login(driver: WebDriver, base_url: str, name: str, password: str = PASSWORD) -> None:
    """Start a fresh session and submit the login form; wait for the answer page."""
    driver.delete_all_cookies()
    driver.get(f"{base_url}/login")
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form.login button").click()
    # Either the signed-in header or the refusal (the implicit wait polls for it).
    driver.find_element(By.CSS_SELECTOR, "form.logout, p.error")


def heading(driver: WebDriver) -> str:
    """The page's first h1."""
    return driver.find_element(By.TAG_NAME, "h1").text


def test_pages_redirect_to_the_login_form(browser: WebDriver, base_url: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{base_url}/incidents/inc-police")
    shot(browser, "01-login")
    assert (browser.current_url.split("?")[0], heading(browser)) == (f"{base_url}/login", "登录")


def test_wrong_password_is_refused(browser: WebDriver, base_url: str) -> None:
    login(browser, base_url, "analyst", "not the password")
    assert browser.find_element(By.CSS_SELECTOR, "p.error").text == "用户名或密码错误"


def test_analyst_overview_language_switch_and_status_change(
    browser: WebDriver, base_url: str, store: SqliteStore
) -> None:
    login(browser, base_url, "analyst")
    chinese = heading(browser)
    shot(browser, "02-overview-zh")
    browser.find_element(By.CSS_SELECTOR, 'nav.lang a[hreflang="en"]').click()
    english = heading(browser)
    shot(browser, "03-overview-en")
    browser.find_element(By.LINK_TEXT, "Incidents").click()
    browser.find_element(By.CSS_SELECTOR, 'a[href="/incidents/inc-police"]').click()
    Select(browser.find_element(By.NAME, "status")).select_by_value("investigating")
    browser.find_element(By.CSS_SELECTOR, '#status-form input[name="note"]').send_keys("on it")
    browser.find_element(By.CSS_SELECTOR, "#status-form button").click()
    history = browser.find_element(By.CSS_SELECTOR, "#history tbody tr").text
    shot(browser, "04-incident-after-status-change")
    stored = store.incident("inc-police")
    assert (chinese, english) == ("态势总览", "Security posture overview")
    assert ("Investigating" in history, "on it" in history, "analyst" in history) == (
        True,
        True,
        True,
    )
    assert stored is not None and stored.status.value == "investigating"


def test_unit_viewer_cannot_open_another_units_incident(browser: WebDriver, base_url: str) -> None:
    login(browser, base_url, "county-viewer")
    browser.get(f"{base_url}/incidents/inc-police")
    refused = heading(browser)
    shot(browser, "05-viewer-other-unit-404")
    browser.get(f"{base_url}/incidents/inc-lushi")
    assert (refused, "inc-lushi" in browser.page_source) == ("未找到", True)


def test_attacker_markup_is_shown_as_text_and_never_runs(browser: WebDriver, base_url: str) -> None:
    login(browser, base_url, "analyst")
    browser.get(f"{base_url}/incidents/inc-xss")
    shot(browser, "06-xss-escaped")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 (reading it is what raises)
    sentinel = browser.execute_script("return window.nssaXss === undefined")
    assert (sentinel, XSS in heading(browser)) == (True, True)


def test_post_without_csrf_token_is_refused(
    browser: WebDriver, base_url: str, store: SqliteStore
) -> None:
    login(browser, base_url, "analyst")
    browser.get(f"{base_url}/incidents/inc-lushi")
    # Drop the token as a forged cross-site form would lack it (WebDriver scripts skip the CSP).
    token = browser.find_element(By.CSS_SELECTOR, "#note-form [name=csrf_token]")
    browser.execute_script("arguments[0].remove()", token)
    browser.find_element(By.CSS_SELECTOR, "#note-form textarea").send_keys("forged")
    browser.find_element(By.CSS_SELECTOR, "#note-form button").click()
    refused = browser.find_element(By.XPATH, "//h1[text()='拒绝访问']")  # waits for the page
    shot(browser, "08-post-without-csrf-refused")
    stored = store.incident("inc-lushi")
    assert (refused.text, stored.history if stored else None) == ("拒绝访问", ())


def test_big_screen_fills_1920_by_1080(browser: WebDriver, base_url: str) -> None:
    login(browser, base_url, "leader")
    # The whole wall in the screenshot: the headless window's viewport is shorter than 1080.
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1920, "height": 1080, "deviceScaleFactor": 1, "mobile": False},
    )
    browser.get(f"{base_url}/screen")
    shot(browser, "07-big-screen")
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    size = browser.execute_script(
        "const b = document.body; return [b.offsetWidth, b.offsetHeight,"
        " getComputedStyle(b).backgroundColor]"
    )
    assert size == [1920, 1080, "rgb(7, 17, 31)"]


def test_units_page_shows_a_viewer_only_its_units(browser: WebDriver, base_url: str) -> None:
    login(browser, base_url, "county-viewer")
    browser.get(f"{base_url}/units")
    shot(browser, "09-units-county-viewer")
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "ul.worst a")]
    assert links == [f"{base_url}/incidents/inc-lushi"] * 2  # the county and its department


def test_alerts_explorer_pivots_on_a_clicked_source(
    browser: WebDriver, base_url: str, store: SqliteStore
) -> None:
    pivoted = [
        build_alert(time=T0 + 300 + n, source_ip="192.0.2.50", identifier=f"pivot:{n}")
        for n in range(2)
    ]
    store.put_alerts([*pivoted, build_alert(time=T0 + 400, source_ip="192.0.2.51")])
    login(browser, base_url, "analyst")
    browser.get(f"{base_url}/alerts")
    before = len(browser.find_elements(By.CSS_SELECTOR, "table.alerts tbody tr"))
    pivot = 'table.alerts a[data-pivot="source"][href$="=192.0.2.50"]'
    browser.find_element(By.CSS_SELECTOR, pivot).click()
    WebDriverWait(browser, 5).until(lambda driver: "source=192.0.2.50" in driver.current_url)
    shot(browser, "10-alerts-pivot-on-source")
    cells = browser.find_elements(By.CSS_SELECTOR, "table.alerts tbody td.ip:nth-child(5)")
    sources = [cell.text for cell in cells]
    sentinel = browser.execute_script("return window.nssaXss === undefined")  # XSS alert listed
    assert (before, sources, sentinel) == (4, ["192.0.2.50", "192.0.2.50"], True)
