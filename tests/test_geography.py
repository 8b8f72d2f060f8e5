"""Country and AS of outside addresses (correlator/geography.py) against the installed database."""

from __future__ import annotations

import ipaddress
import os
import random
from pathlib import Path

import pytest

from correlator.geography import (
    DEFAULT_DATABASE,
    FILES,
    RESERVED_ORIGIN,
    Geography,
    Origin,
    OriginKind,
    geography,
    missing_files,
)


@pytest.fixture(scope="module")
def geo() -> Geography:
    """The installed database; the tests that need it skip when it is absent, but not in CI."""
    if missing_files(DEFAULT_DATABASE) and not os.environ.get("CI"):
        pytest.skip(f"AS database not installed in {DEFAULT_DATABASE} (make setup installs it)")
    return geography(DEFAULT_DATABASE)


@pytest.mark.parametrize(
    ("address", "country", "asn"),
    [
        ("8.8.8.8", "US", 15169),  # Google Public DNS
        ("1.1.1.1", None, 13335),  # Cloudflare (the block is registered to APNIC's lab, AU)
        ("114.114.114.114", "CN", None),  # 114DNS, registered in China
        ("2001:4860:4860::8888", "US", 15169),  # Google Public DNS over IPv6
        ("2606:4700:4700::1111", None, 13335),  # Cloudflare over IPv6
        ("::ffff:8.8.8.8", "US", 15169),  # an IPv4-mapped address is the IPv4 address
    ],
)
def test_well_known_addresses(
    geo: Geography, address: str, country: str | None, asn: int | None
) -> None:
    (origin,) = geo.locate([address])
    assert origin is not None and origin.kind is OriginKind.PUBLIC
    if country is not None:
        assert origin.country == country
    if asn is not None:
        assert origin.asn == asn and origin.organisation
    assert origin.country is not None and origin.asn is not None


@pytest.mark.parametrize(
    "address",
    ["10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "127.0.0.1", "169.254.1.1",
     "203.0.113.7", "224.0.0.251", "255.255.255.255", "::1", "fe80::1", "fd00::5", "2001:db8::1",
     "ff02::1"],
)  # fmt: skip
def test_private_and_reserved_addresses_have_no_origin(geo: Geography, address: str) -> None:
    assert geo.locate([address]) == (RESERVED_ORIGIN,)


def test_text_that_is_no_address_is_unknown(geo: Geography) -> None:
    assert geo.locate(["not-an-ip", "", "999.1.1.1", "admin"]) == (None, None, None, None)


def test_a_batch_equals_one_at_a_time(geo: Geography) -> None:
    rng = random.Random(7)
    addresses = [".".join(str(rng.randrange(256)) for _ in range(4)) for _ in range(3000)] + [
        f"2{rng.randrange(0x400, 0xFFF):03x}:{rng.randrange(0x10000):x}::{n:x}" for n in range(500)
    ]
    rng.shuffle(addresses)
    batch = geo.locate(addresses)
    assert batch == tuple(geo.locate([a])[0] for a in addresses)
    # The sample holds public, reserved and unregistered addresses alike.
    kinds = {o.kind if o else None for o in batch}
    assert kinds == {OriginKind.PUBLIC, OriginKind.RESERVED, None}
    assert sum(1 for o in batch if o is not None and o.asn is not None) > 1000


def test_ranges_are_searched_not_merged(tmp_path: Path) -> None:
    # Adjacent ranges of two systems stay apart; the gap between ranges has no AS.
    (tmp_path / FILES[4]).write_text(
        "134744064,134744319,15169,Google LLC\n"
        '134744320,134744575,64500,"Example, Inc."\n'
        "134745000,134745100,64501,Other\n",
        encoding="utf-8",
    )
    google6 = ipaddress.ip_network("2001:4860::/32")
    (tmp_path / FILES[6]).write_text(
        f"{int(google6[0])},{int(google6[-1])},15169,Google LLC\n", encoding="utf-8"
    )
    geo = Geography.load(tmp_path)
    found = geo.locate(["8.8.8.255", "8.8.9.0", "8.8.9.255", "8.8.10.0", "2001:4860::1"])
    assert [o.asn if o else None for o in found] == [15169, 64500, 64500, None, 15169]
    assert found[1] == Origin(
        kind=OriginKind.PUBLIC, country=found[1].country if found[1] else None, asn=64500,
        organisation="Example, Inc.",
    )  # fmt: skip
    assert geo.figures.ranges == 4 and geo.figures.organisations == 3


def test_a_missing_database_leaves_countries_only(tmp_path: Path) -> None:
    assert missing_files(tmp_path) == list(FILES.values())
    (origin,) = geography(tmp_path).locate(["8.8.8.8"])
    assert origin == Origin(kind=OriginKind.PUBLIC, country="US")


def test_a_version_without_ranges_and_a_broken_file(tmp_path: Path) -> None:
    (tmp_path / FILES[4]).write_text("134744064,134744319,15169,Google LLC\n", encoding="utf-8")
    (tmp_path / FILES[6]).write_text("", encoding="utf-8")  # no IPv6 rows at all
    found = Geography.load(tmp_path).locate(["8.8.8.8", "2001:4860:4860::8888"])
    assert [o.asn if o else None for o in found] == [15169, None]
    assert found[1] == Origin(kind=OriginKind.PUBLIC, country="US")
    (tmp_path / FILES[6]).write_text("start,end,asn,name\n", encoding="utf-8")  # not numbers
    with pytest.raises(ValueError):
        Geography.load(tmp_path)
    (origin,) = geography(tmp_path).locate(["8.8.8.8"])  # logged: countries only, no failure
    assert origin == Origin(kind=OriginKind.PUBLIC, country="US")
