"""Country and AS of the top outside sources on the overview and the big screen; [geo] settings."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from correlator.geography import DEFAULT_DATABASE, missing_files
from nssa.errors import ConfigError
from nssa.settings import load_settings
from nssa.stores.sqlite import SqliteStore
from tests.dashboard_scene import ORGANISATION, PUBLIC_ATTACKER, fill_public
from tests.dashboard_users import make_app, signed_in

needs_database = pytest.mark.skipif(
    bool(missing_files(DEFAULT_DATABASE)) and not os.environ.get("CI"),
    reason=f"AS database not installed in {DEFAULT_DATABASE} (make setup installs it)",
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "nssa.db") as opened:
        fill_public(opened)
        yield opened


def source_row(html: str, address: str) -> str:
    """The top-sources table row of ``address``, tags removed and spaces collapsed."""
    row = html.split(f'<tr data-source="{address}">', 1)[1].split("</tr>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", row).split())


@needs_database
@pytest.mark.parametrize(
    ("lang", "country"), [("zh-CN", "美国"), ("en", "United States")]
)  # fmt: skip
def test_overview_sources_show_country_and_as(store: SqliteStore, lang: str, country: str) -> None:
    app = make_app(store, {"organisation": ORGANISATION})
    html = signed_in(app).get(f"/overview?lang={lang}").get_data(as_text=True)
    assert source_row(html, PUBLIC_ATTACKER) == f"{PUBLIC_ATTACKER} {country} AS15169 Google LLC 1"
    # Documentation space (the scene's other attackers) is reserved: no country, no AS.
    reserved = "内网/保留地址" if lang == "zh-CN" else "Internal/reserved"
    assert source_row(html, "203.0.113.7") == f"203.0.113.7 {reserved} 1"
    assert 'href="https://db-ip.com"' in html  # CC BY 4.0: the credit DB-IP asks for


@needs_database
def test_the_big_screen_shows_the_as_too(store: SqliteStore) -> None:
    app = make_app(store, {"organisation": ORGANISATION})
    html = signed_in(app, "leader").get("/screen").get_data(as_text=True)
    assert "AS15169 Google LLC" in source_row(html, PUBLIC_ATTACKER)


def test_geo_lookups_off_show_addresses_only(store: SqliteStore) -> None:
    app = make_app(store, {"organisation": ORGANISATION, "GEO_DATABASE": None})
    html = signed_in(app).get("/overview").get_data(as_text=True)
    assert source_row(html, PUBLIC_ATTACKER) == f"{PUBLIC_ATTACKER} 1"
    assert "db-ip.com" not in html


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('database = "relative/asn"', "absolute"),
        ('database = "/nonexistent/asn"', "has no asn-ipv4-num.csv, asn-ipv6-num.csv"),
        ("enabled = 1", "expected bool"),
    ],
)
def test_geo_settings_are_checked_when_settings_load(
    tmp_path: Path, table: str, problem: str
) -> None:
    path = tmp_path / "nssa.toml"
    path.write_text(f"[geo]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    key = "geo.enabled" if table.startswith("enabled") else "geo.database"
    assert (caught.value.key, problem in caught.value.problem) == (key, True)


def test_geo_settings_name_the_database_folder(tmp_path: Path) -> None:
    for name in ("asn-ipv4-num.csv", "asn-ipv6-num.csv"):
        (tmp_path / name).write_text("", encoding="utf-8")
    path = tmp_path / "nssa.toml"
    path.write_text(f'[geo]\ndatabase = "{tmp_path}"\n', encoding="utf-8")
    assert load_settings(path).geo.directory() == tmp_path
    assert load_settings(None).geo.directory() == DEFAULT_DATABASE


def test_geo_lookups_can_be_turned_off(tmp_path: Path) -> None:
    path = tmp_path / "nssa.toml"
    path.write_text('[geo]\nenabled = false\ndatabase = "/nonexistent/asn"\n', encoding="utf-8")
    assert load_settings(path).geo.directory() is None  # the folder is not checked either


@needs_database
def test_the_incident_page_lists_its_outside_attackers_origin(store: SqliteStore) -> None:
    app = make_app(store, {"organisation": ORGANISATION})
    html = signed_in(app).get("/incidents/inc-public?lang=en").get_data(as_text=True)
    item = html.split(f'<li data-source="{PUBLIC_ATTACKER}">', 1)[1].split("</li>", 1)[0]
    assert " ".join(re.sub(r"<[^>]+>", " ", item).split()) == (
        f"{PUBLIC_ATTACKER} United States AS15169 Google LLC"
    )
    # Documentation-space attackers have no origin: the page lists none for them.
    police = signed_in(app).get("/incidents/inc-police").get_data(as_text=True)
    assert "data-source=" not in police
