"""例外 in a real headless Chromium: create an exception through the preview form.

Uses the browser, server and store of ``test_dashboard_browser`` (skipped without Chromium).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from correlator.exceptions import AuditAction
from nssa.stores.sqlite import SqliteStore
from tests import test_dashboard_browser as shared
from tests.test_dashboard_browser import login, shot

# The same module-scoped fixtures and skip condition as the other browser tests.
pytestmark = shared.pytestmark
browser = shared.browser
base_url = shared.base_url
store = shared.store


def test_analyst_creates_an_exception_through_the_preview(
    browser: WebDriver, base_url: str, store: SqliteStore
) -> None:
    login(browser, base_url, "analyst")
    browser.find_element(By.LINK_TEXT, "例外").click()
    browser.find_element(By.NAME, "source").send_keys("203.0.113.7")
    browser.find_element(By.NAME, "reason").send_keys("内部授权扫描器")
    expiry = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=7)).date().isoformat()
    # A date input's typing order follows the browser's locale; its value does not.
    field = browser.find_element(By.NAME, "expires")
    browser.execute_script("arguments[0].value = arguments[1]", field, expiry)
    browser.find_element(By.ID, "preview-button").click()
    counted = browser.find_element(By.ID, "preview-count").text  # waits for the preview page
    shot(browser, "10-exception-preview")
    before = store.exceptions()
    browser.find_element(By.ID, "save-button").click()
    saved_notice = browser.find_element(By.ID, "saved").text
    shot(browser, "11-exception-saved")
    [saved] = store.exceptions()
    assert (before, counted) == ([], "在最近 1 条候选告警中，将隐藏 1 条")
    assert (saved.owner, saved.scope.source, saved.id in saved_notice) == (
        "analyst",
        "203.0.113.7",
        True,
    )
    assert store.mark_counts([saved.id])[0].count == 1
    assert (store.audit_records()[0].action, store.audit_records()[0].who) == (
        AuditAction.CREATED,
        "analyst",
    )


def test_daily_report_renders_in_chromium(browser: WebDriver, base_url: str) -> None:
    login(browser, base_url, "analyst")
    browser.find_element(By.LINK_TEXT, "日报").click()
    browser.get(f"{base_url}/reports/daily?date=2024-06-01")
    title = browser.find_element(By.ID, "report-title").text
    shot(browser, "12-report-daily")
    assert (title, browser.find_element(By.ID, "report-score").text) == (
        "网络安全态势日报（2024-06-01）",
        "80",
    )
