"""报告: daily and weekly posture reports against the seeded scene (Flask client)."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from correlator.exception_store import add_exception
from correlator.exceptions import AlertException, ExceptionKind, Scope
from dashboard.report_data import PeriodKind, daily, neighbours, report_request, weekly
from dashboard.report_pdf import static_file
from nssa.stores.sqlite import SqliteStore
from tests.conftest import T0
from tests.dashboard_scene import ORGANISATION, XSS, fill
from tests.dashboard_users import make_app, signed_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = "2024-06-01"  # T0 is 08:00 that day in Beijing; every scene incident is active on it


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "nssa.db") as opened:
        fill(opened)
        exception = AlertException(
            kind=ExceptionKind.ALLOW,
            scope=Scope(source="10.10.9.9"),
            reason="备份服务器夜间同步",
            owner="王工",
            created=T0 + 100,
            expires=T0 + 86_400 * 30,
        )
        add_exception(opened, exception, ORGANISATION)
        yield opened


@pytest.fixture
def app(store: SqliteStore) -> Flask:
    return make_app(store, {"organisation": ORGANISATION})


def _figure(html: str, name: str) -> int:
    found = re.search(rf'id="report-{name}">(\d+)<', html)
    assert found is not None, name
    return int(found.group(1))


def _figures(html: str) -> tuple[int, int, int]:
    return (_figure(html, "total"), _figure(html, "new"), _figure(html, "score"))


def test_daily_report_figures_are_the_stores(app: Flask, store: SqliteStore) -> None:
    html = signed_in(app).get(f"/reports/daily?date={DAY}").get_data(as_text=True)
    stats = store.incident_stats(report_request(ORGANISATION, None, daily(DAY)))
    assert _figures(html) == (stats.total, sum(b.count for b in stats.histogram), 80) == (3, 3, 80)
    assert "备份服务器夜间同步" in html  # the exception added that day


def test_a_day_without_incidents_reports_zeros(app: Flask) -> None:
    html = signed_in(app).get("/reports/daily?date=2024-05-30").get_data(as_text=True)
    assert (_figures(html), "备份服务器夜间同步" in html) == ((0, 0, 0), False)


def test_weekly_report_covers_the_iso_week(app: Flask) -> None:
    html = signed_in(app).get("/reports/weekly?week=2024-W22&lang=en").get_data(as_text=True)
    assert "Security posture weekly report (2024-W22)" in html
    assert _figures(html) == (3, 3, 80)


def test_a_county_users_report_shows_only_their_units(app: Flask) -> None:
    html = signed_in(app, "county-viewer").get(f"/reports/daily?date={DAY}").get_data(as_text=True)
    ranked = set(re.findall(r'data-unit="([^"]+)"', html))
    listed = set(re.findall(r'data-incident="([^"]+)"', html))
    assert (ranked, listed, _figure(html, "total")) == ({"lushi", "lushi-edu"}, {"inc-lushi"}, 1)
    assert "inc-police" not in html and "市公安局" not in html


def test_report_escapes_attacker_controlled_titles(app: Flask) -> None:
    html = signed_in(app).get(f"/reports/daily?date={DAY}").get_data(as_text=True)
    assert (XSS in html, "&lt;script&gt;window.nssaXss" in html) == (False, True)


@pytest.mark.parametrize("url", ["/reports/daily?date=2024-13-01", "/reports/weekly?week=2024-22"])
def test_a_malformed_period_is_a_400(app: Flask, url: str) -> None:
    assert signed_in(app).get(url).status_code == 400


def test_report_prints_without_navigation_and_runs_no_script(app: Flask) -> None:
    html = signed_in(app).get(f"/reports/daily?date={DAY}").get_data(as_text=True)
    assert ('class="main"' in html, "<script" in html, "report.css" in html) == (
        False,
        False,
        True,
    )


def test_periods_are_beijing_days_and_iso_weeks() -> None:
    week = weekly("2024-W22")
    monday = datetime(2024, 5, 27, tzinfo=SHANGHAI).timestamp()
    before, after = neighbours(daily(DAY))
    assert (week.since, week.until - week.since, week.kind) == (
        monday,
        7 * 86_400,
        PeriodKind.WEEKLY,
    )
    assert (before.label, after.label) == ("2024-05-31", "2024-06-02")


def test_pdf_report_is_a_pdf_with_the_title(app: Flask) -> None:
    pytest.importorskip("weasyprint")
    response = signed_in(app).get(f"/reports/daily.pdf?date={DAY}&lang=en")
    text = _pdf_text(response.data)
    assert (response.status_code, response.mimetype, response.data[:5]) == (
        200,
        "application/pdf",
        b"%PDF-",
    )
    assert "Security posture daily report (2024-06-01)" in text


def test_pdf_rendering_reads_only_the_dashboards_static_files(tmp_path: Path) -> None:
    (tmp_path / "nssa.css").write_text("body {}")
    (tmp_path / "secret.txt").write_text("no")
    found = [
        static_file(url, tmp_path)
        for url in (
            "file:///static/nssa.css",
            "file:///static/../secret.txt",
            "file:///static/secret.txt",
            "http://203.0.113.7/static/nssa.css",
            "file:///etc/passwd",
        )
    ]
    assert found == [tmp_path / "nssa.css", None, None, None, None]


def _pdf_text(pdf: bytes) -> str:
    """The PDF's bookmark titles (WeasyPrint makes one per heading, the h1 first), read from
    its compressed object streams, with PDF string escapes undone."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    plain = b"".join(zlib.decompress(s) for s in streams if s[:1] == b"x")
    titles = re.findall(rb"/Title \(((?:\\.|[^\\)])*)\)", plain)
    return "\n".join(re.sub(rb"\\(.)", rb"\1", t).decode("latin-1") for t in titles)
