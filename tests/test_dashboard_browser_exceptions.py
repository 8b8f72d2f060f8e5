"""例外 in a real headless Chromium: create an exception through the preview form.

Uses the server and store of ``test_dashboard_browser`` (skipped without Chromium).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from correlator.exceptions import AuditAction
from nssa.stores.sqlite import SqliteStore
from tests import test_dashboard_browser as shared
from tests.browser import login, shot

# The same module-scoped fixtures and skip condition as the other browser tests.
pytestmark = shared.pytestmark
base_url = shared.base_url
store = shared.store


def test_analyst_creates_an_exception_through_the_preview(
    page: Page, base_url: str, store: SqliteStore
) -> None:
    login(page, base_url, "analyst")
    page.get_by_role("link", name="例外", exact=True).click()
    page.locator("[name=source]").fill("203.0.113.7")
    page.locator("[name=reason]").fill("内部授权扫描器")
    expiry = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=7)).date().isoformat()
    page.locator("[name=expires]").fill(expiry)  # a date input takes ISO whatever the locale
    page.locator("#preview-button").click()
    expect(page.locator("#preview-count")).to_have_text("在最近 1 条候选告警中，将隐藏 1 条")
    shot(page, "exception-preview")
    assert store.exceptions() == []  # a preview saves nothing
    page.locator("#save-button").click()
    expect(page.locator("#saved")).to_be_visible()
    [saved] = store.exceptions()
    expect(page.locator("#saved")).to_contain_text(saved.id)
    assert (saved.owner, saved.scope.source, saved.reason) == (
        "analyst",
        "203.0.113.7",
        "内部授权扫描器",
    )
    assert store.mark_counts([saved.id])[0].count == 1
    [audit] = store.audit_records()[:1]
    assert (audit.action, audit.who) == (AuditAction.CREATED, "analyst")


def test_daily_report_renders_in_chromium(page: Page, base_url: str) -> None:
    login(page, base_url, "analyst")
    page.get_by_role("link", name="日报", exact=True).click()
    expect(page.locator("#report-title")).to_be_visible()
    page.goto(f"{base_url}/reports/daily?date=2024-06-01")
    expect(page.locator("#report-title")).to_have_text("网络安全态势日报（2024-06-01）")
    expect(page.locator("#report-score")).to_have_text("80")
