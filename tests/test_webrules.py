"""The tuned web rules: probes they now catch, ordinary query strings they leave alone."""

from __future__ import annotations

import pytest

from detectors.webrules import RULES, anomaly_score, match_request


@pytest.mark.parametrize(
    ("uri", "rule"),
    [
        ("/p?a=substring%28", "sqli-function-call"),
        ("/p?a=selectchar%28", "sqli-function-call"),
        ("/p?a=%7C%7Cchr%28", "sqli-function-call"),
        ("/p?id=1+AND+ASCII(MID(user(),1,1))>64", "sqli-function-call"),
        ("/p?a=%252cnull%252cnull", "sqli-null-columns"),  # double URL encoding
        ("/p?q=prompt%28document.domain%29", "xss-js-method"),
        ("/p?q=%u003cbody%20onload%3dx%3e", "xss-tags"),  # IIS %u encoding
        ("/p?q=&lt;object data=x&gt;", "xss-tags"),  # HTML entities
        ("/.bash_history", "lfi-restricted-files"),
        ("/backup/wp-config.php.old", "lfi-restricted-files"),
        ("/.config/secrets.json", "lfi-restricted-files"),
        ("/p?q=1;%20cat%20/etc/passwd", "cmdi-separator"),
        ("/ping?ip=127.0.0.1%0Aid", "cmdi-newline"),  # a newline separates commands
        ("/ping?ip=127.0.0.1%0D%0Acat%20/etc/hosts&x=1", "cmdi-newline"),
        ("/index.php?login=$(echo${IFS}aWQK|base64${IFS}-d|sh)", "cmdi-separator"),
    ],
)
def test_probe_scores_at_least_five_at_pl1(uri: str, rule: str) -> None:
    matches = match_request(uri, "curl/8.5.0", paranoia=1)
    assert rule in {m.rule.id for m in matches}
    assert anomaly_score(matches, paranoia=1) >= 5


def test_system_path_with_an_encoded_delimiter_adds_up_to_an_attack() -> None:
    alone = match_request("/static/usr/share/doc/readme.html", "", paranoia=1)
    both = match_request("/html/usr/share/doc/readme.html%3f", "", paranoia=1)
    assert anomaly_score(alone, paranoia=1) == 3
    assert {m.rule.id for m in both} == {"lfi-system-dirs", "lfi-path-delimiter"}
    assert anomaly_score(both, paranoia=1) == 6


@pytest.mark.parametrize(
    "uri",
    [
        "/c.gif?evt=impr&tmpl=EAggMo:0;ups:0;cat:0;IP:Cb",  # ``;cat:`` is no shell command
        "/ping.aspx?IG=22A647&&ID=SERP,5080.1",  # ``&&ID=`` is an empty parameter
        "/search?q=count+of+users+in+the+database",
        "/p?sort=title&order=desc&char=a",
        "/news?title=table+tennis+results",
        "/.well-known/acme-challenge/FMuukC2JOJ5H",
        "/docs/etc-notes.html",
        "/map?bounds=null,null",
        "/post?comment=see+you%0D%0Aping+me+later%0D%0Aecho+chamber",  # free text
    ],
)
def test_ordinary_requests_stay_below_five(uri: str) -> None:
    assert anomaly_score(match_request(uri, "Mozilla/5.0", paranoia=1), paranoia=1) < 5


def test_plain_html_tags_count_only_from_pl2() -> None:
    pl1 = match_request("/p?a=<table", "", paranoia=1)
    pl2 = match_request("/p?a=<table", "", paranoia=2)
    assert (anomaly_score(pl1, 1), [(m.rule.id, m.rule.paranoia) for m in pl2]) == (
        0,
        [("xss-html-tag", 2)],
    )
    assert anomaly_score(pl2, paranoia=2) >= 5


def test_every_rule_reports_a_paranoia_level_and_a_unique_id() -> None:
    assert len({r.id for r in RULES}) == len(RULES)
    assert all(1 <= r.paranoia <= 4 for r in RULES)
