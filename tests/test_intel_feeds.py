"""Feed parsers: literal feed text in, indicators and rejection counts out."""

from __future__ import annotations

import json

import pytest

from detectors.feedjson import parse_misp, parse_stix
from detectors.feedrecords import FeedDefaults, FeedResult
from detectors.feeds import FeedFormat, parse_csv, parse_feed, parse_list, sniff
from detectors.indicators import IndicatorKind, Rejection, classify, normal_url

FEED = FeedDefaults(source="test", confidence=40)
IP, DOMAIN, URL = IndicatorKind.IP, IndicatorKind.DOMAIN, IndicatorKind.URL


def values(result: FeedResult) -> list[tuple[IndicatorKind, str]]:
    return [(i.kind, i.value) for i in result.indicators]


def test_plain_list_takes_every_kind_and_skips_comments() -> None:
    text = """# a feed
    ; another comment style
    198.51.100.7   # trailing comment
    203.0.113.0/24
    2001:db8::/48
    0.0.0.0 Evil.Example.COM.
    hxxp://bad[.]example.net/gate.php

    """
    result = parse_list(text, FEED)
    assert values(result) == [
        (IP, "198.51.100.7/32"),
        (IP, "203.0.113.0/24"),
        (IP, "2001:db8::/48"),
        (DOMAIN, "evil.example.com"),
        (URL, "http://bad.example.net/gate.php"),
    ]
    assert result.rejected == {}
    assert {(i.source, i.confidence, i.expires) for i in result.indicators} == {("test", 40, None)}


def test_garbage_lines_are_counted_by_reason_and_never_raise() -> None:
    text = "not an indicator!\n0.0.0.0/0\n\x00\xff\x01\nexample\nftp://x.example/\n1.2.3.4\n"
    result = parse_list(text, FEED)
    assert values(result) == [(IP, "1.2.3.4/32")]
    assert result.rejected == {Rejection.MALFORMED: 4, Rejection.TOO_BROAD: 1}
    assert result.entries == 6


def test_csv_with_header_reads_type_confidence_and_expiry() -> None:
    text = (
        "indicator,type,confidence,valid_until\n"
        "198.51.100.7,ip,90,2030-01-01T00:00:00Z\n"
        "c2.example,domain,high,\n"
        "d41d8cd98f00b204e9800998ecf8427e,md5,80,\n"
        "c2.example,url,50,\n"
        "x.example,domain,250,\n"
        "y.example,domain,50,next tuesday\n"
    )
    result = parse_csv(text, FEED)
    assert [(i.value, i.confidence, i.expires) for i in result.indicators] == [
        ("198.51.100.7/32", 90, 1_893_456_000.0),
        ("c2.example", 85, None),
        ("http://c2.example/", 50, None),  # a URL column without a scheme gets http://
    ]
    assert result.rejected == {
        Rejection.UNSUPPORTED: 1,
        Rejection.BAD_CONFIDENCE: 1,
        Rejection.BAD_EXPIRY: 1,
    }


def test_csv_header_in_a_comment_line_as_abuse_ch_writes_it() -> None:
    text = (
        "#####\n# URL feed, generated daily\n#\n"
        "# id,dateadded,url,url_status,threat\n"
        '"1","2026-01-01 10:00:00","http://203.0.113.9/bins/x86","online","malware_download"\n'
    )
    assert sniff(text) is FeedFormat.CSV
    assert values(parse_feed(text, FEED)) == [(URL, "http://203.0.113.9/bins/x86")]


def test_csv_without_header_reads_the_first_column() -> None:
    text = "198.51.100.7,scanner,2026-01-01\nbad.example,c2,2026-01-02\n"
    assert values(parse_csv(text, FEED)) == [(IP, "198.51.100.7/32"), (DOMAIN, "bad.example")]


def test_csv_broken_rows_cost_one_row_each() -> None:
    huge = '"' + "a" * 200_000 + '"'  # beyond the csv module's field size limit
    text = f'indicator\n198.51.100.7\n{huge}\nx\x00y,1\n"unterminated,2\n'
    result = parse_csv(text, FEED)
    assert values(result) == [(IP, "198.51.100.7/32")]
    assert result.rejected == {Rejection.MALFORMED: 3}


def test_ip_port_values_keep_the_address() -> None:
    text = "ioc_value,ioc_type,confidence_level\n198.51.100.7:4444,ip:port,75\n"
    assert [(i.value, i.confidence) for i in parse_csv(text, FEED).indicators] == [
        ("198.51.100.7/32", 75)
    ]


def stix_bundle(*objects: dict[str, object]) -> str:
    return json.dumps({"type": "bundle", "id": "bundle--1", "objects": list(objects)})


def test_stix_ored_comparisons_become_one_indicator_each() -> None:
    text = stix_bundle(
        {
            "type": "indicator",
            "pattern": (
                "[ipv4-addr:value = '198.51.100.0/24'] OR [ipv6-addr:value = '2001:db8::1'] "
                "OR [domain-name:value = 'c2.example'] OR [url:value = 'HTTPS://C2.example:443/a']"
            ),
            "pattern_type": "stix",
            "confidence": 70,
            "valid_until": "2030-01-01T00:00:00Z",
        },
        {"type": "malware", "name": "not an indicator"},
    )
    result = parse_stix(text, FEED)
    assert values(result) == [
        (IP, "198.51.100.0/24"),
        (IP, "2001:db8::1/128"),
        (DOMAIN, "c2.example"),
        (URL, "https://c2.example/a"),
    ]
    assert {(i.confidence, i.expires) for i in result.indicators} == {(70, 1_893_456_000.0)}


def test_stix_unmatchable_patterns_are_counted_not_matched_loosely() -> None:
    text = stix_bundle(
        {"type": "indicator", "pattern": "[file:hashes.'SHA-256' = 'aa']"},
        {
            "type": "indicator",
            "pattern": "[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '5.6.7.8']",
        },
        {"type": "indicator", "pattern": "[ipv4-addr:value = '198.51.100.1']", "revoked": True},
        {"type": "indicator", "pattern": "alert tcp any any", "pattern_type": "snort"},
        {"type": "indicator", "pattern": "[ipv4-addr:value = 'nonsense']"},
        {"type": "indicator", "pattern": "[ipv4-addr:value = '198.51.100.2']", "confidence": "x"},
    )
    result = parse_stix(text, FEED)
    assert result.indicators == ()
    assert result.rejected == {
        Rejection.UNSUPPORTED: 3,
        Rejection.NOT_FOR_DETECTION: 1,
        Rejection.MALFORMED: 1,
        Rejection.BAD_CONFIDENCE: 1,
    }


def misp_event() -> str:
    return json.dumps(
        {
            "Event": {
                "info": "C2 campaign",
                "Attribute": [
                    {"type": "ip-dst", "value": "198.51.100.7", "to_ids": True},
                    {"type": "ip-dst|port", "value": "203.0.113.5|8443", "to_ids": True},
                    {"type": "hostname", "value": "c2.example", "to_ids": True},
                    {"type": "domain", "value": "context.example", "to_ids": False},
                    {"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e", "to_ids": True},
                    {"type": "ip-src", "value": "not-an-ip", "to_ids": True},
                ],
                "Object": [
                    {
                        "name": "url",
                        "Attribute": [
                            {"type": "url", "value": "http://c2.example:80/gate", "to_ids": True}
                        ],
                    }
                ],
            }
        }
    )


def test_misp_reads_event_and_object_attributes_with_to_ids() -> None:
    result = parse_misp(misp_event(), FEED)
    assert values(result) == [
        (IP, "198.51.100.7/32"),
        (IP, "203.0.113.5/32"),
        (DOMAIN, "c2.example"),
        (URL, "http://c2.example/gate"),
    ]
    assert result.rejected == {
        Rejection.NOT_FOR_DETECTION: 1,
        Rejection.UNSUPPORTED: 1,
        Rejection.MALFORMED: 1,
    }


@pytest.mark.parametrize("text", ["{not json", "[1, 2, 3]", '{"Event": 5}', "null", ""])
def test_broken_json_feeds_are_counted_not_raised(text: str) -> None:
    for parser in (parse_stix, parse_misp):
        assert parser(text, FEED).indicators == ()


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("1.2.3.4\nbad.example\n", FeedFormat.LIST),
        ("indicator,type\n1.2.3.4,ip\n", FeedFormat.CSV),
        (stix_bundle(), FeedFormat.STIX),
        (misp_event(), FeedFormat.MISP),
    ],
)
def test_sniff_recognises_each_format(text: str, fmt: FeedFormat) -> None:
    assert sniff(text) is fmt


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTP://Evil.Example:80/Path?Q=1#frag", "http://evil.example/Path?Q=1"),
        ("https://evil.example:443", "https://evil.example/"),
        ("https://evil.example:8443/x", "https://evil.example:8443/x"),
        ("http://[2001:db8::1]:80/", "http://[2001:db8::1]/"),
        ("ftp://evil.example/", None),
        ("http://exa mple/", None),
    ],
)
def test_url_normal_form(url: str, normal: str | None) -> None:
    assert normal_url(url) == normal


def test_classify_rejects_too_broad_networks() -> None:
    assert classify("10.0.0.0/7") is Rejection.TOO_BROAD
    assert classify("10.0.0.0/8") == (IP, "10.0.0.0/8")
    assert classify("2001::/15") is Rejection.TOO_BROAD
