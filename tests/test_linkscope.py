"""Link-wide and group destinations: a table of addresses."""

from __future__ import annotations

import pytest

from detectors.linkscope import is_group, is_link_wide


@pytest.mark.parametrize(
    ("ip", "link_wide", "group"),
    [
        ("255.255.255.255", True, True),
        ("10.10.3.255", True, True),
        ("224.0.0.251", True, True),
        ("239.1.2.3", False, True),
        ("ff02::1", True, True),
        ("ff05::1:3", False, True),
        ("10.10.3.15", False, False),
        ("2001:db8::1", False, False),
        ("0.0.0.0", False, False),
        ("not-an-ip", False, False),
    ],
)
def test_scope_of_destinations(ip: str, link_wide: bool, group: bool) -> None:
    assert (is_link_wide(ip), is_group(ip)) == (link_wide, group)
