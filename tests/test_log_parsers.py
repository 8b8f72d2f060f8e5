"""Each log format: literal lines in, typed events out."""

from __future__ import annotations

import json

from sensors.events import (
    AuthEvent,
    AuthOutcome,
    DnsQuery,
    FirewallAction,
    FirewallEvent,
    Flow,
    HttpRequest,
    IdsAlert,
    IdsKind,
    TcpOutcome,
    TlsHello,
    Transport,
    WebError,
)
from sensors.logs.syslog import parse_syslog
from tests.logcorpus import parse_text


def one(text: str, parser: str) -> object:
    events, stats = parse_text(text, parser)
    assert len(events) == 1, (events, stats)
    return events[0]


def test_rfc3164_and_rfc5424_headers() -> None:
    bsd = parse_syslog("<38>Mar  7 18:53:20 bar sshd[1556]: Accepted x", 2024)
    modern = parse_syslog(
        '<38>1 2019-07-08T17:40:16.95-04:00 web.example sshd 57915 - [a b="[x]"] Failed y', 2024
    )
    assert (bsd.host, bsd.app, bsd.pid, bsd.message, bsd.facility, bsd.severity) == (
        "bar",
        "sshd",
        "1556",
        "Accepted x",
        4,
        6,
    )
    assert (modern.host, modern.app, modern.pid, modern.message) == (
        "web.example",
        "sshd",
        "57915",
        "Failed y",
    )
    assert modern.time == 1562622016.95


def test_sshd_failed_password_names_user_and_peer() -> None:
    event = one(
        "Feb 25 14:34:10 belka sshd[31602]: Failed password for invalid user ROOT from "
        "194.117.26.69 port 50273 ssh2",
        "sshd",
    )
    assert isinstance(event, AuthEvent)
    assert (event.src_ip, event.user, event.outcome, event.method, event.line) == (
        "194.117.26.69",
        "ROOT",
        AuthOutcome.FAILURE,
        "password",
        1,
    )


def test_sshd_accepted_publickey_is_success() -> None:
    event = one(
        "Jan  1 00:00:00 h sshd[1]: Accepted publickey for git from 192.0.2.1 port 5 ssh2: RSA x",
        "sshd",
    )
    assert isinstance(event, AuthEvent) and event.outcome is AuthOutcome.SUCCESS


def test_sshd_injected_username_does_not_fool_the_peer() -> None:
    event = one(
        "Nov 11 08:04:52 r sshd[2737]: Failed password for invalid user test from 10.10.1.2 "
        "port 55555 ssh2 from 127.0.0.1 port 58946 ssh2",
        "sshd",
    )
    assert isinstance(event, AuthEvent) and event.src_ip == "127.0.0.1"


def test_sshd_too_many_failures_takes_the_peer_of_its_process() -> None:
    events, _ = parse_text(
        "Feb 12 04:09:21 l sshd[26713]: Connection from 115.249.163.77 port 51353\n"
        "Feb 12 04:09:21 l sshd[26713]: Disconnecting: Too many authentication failures [preauth]",
        "sshd",
    )
    assert [(e.src_ip, e.outcome) for e in events if isinstance(e, AuthEvent)] == [
        ("115.249.163.77", AuthOutcome.FAILURE)
    ]


def test_sshd_preauth_disconnect_and_pam_failure() -> None:
    events, _ = parse_text(
        "Mar 15 09:21:01 h sshd[2717]: Connection closed by 192.0.2.212 [preauth]\n"
        "Jul 19 18:11:26 s vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= "
        "uid=0 euid=0 tty=ftp ruser=an8767 rhost=192.0.2.9  user=bob",
        "sshd",
    )
    assert [(e.src_ip, e.user, e.service) for e in events if isinstance(e, AuthEvent)] == [
        ("192.0.2.212", "", "sshd"),
        ("192.0.2.9", "bob", "vsftpd"),
    ]


def test_access_combined_with_vhost_keeps_the_raw_request() -> None:
    event = one(
        "www.site.cn:443 192.0.2.222 - admin [18/Aug/2024:21:08:39 +0100] "
        '"GET /a%20b?x=<script> HTTP/1.1" 403 332 "-" "sqlmap/1.5"',
        "access",
    )
    assert isinstance(event, HttpRequest)
    assert (event.host, event.src_ip, event.method, event.uri, event.status, event.user) == (
        "www.site.cn",
        "192.0.2.222",
        "GET",
        "/a%20b?x=<script>",
        403,
        "admin",
    )
    assert event.time == 1724011719.0 and event.user_agent == "sqlmap/1.5"


def test_access_common_format_and_binary_probe() -> None:
    events, _ = parse_text(
        '1.2.3.4 - - [20/Jan/2015:19:53:28 +0000] "GET / HTTP/1.0" 200 47\n'
        '1.2.3.4 - - [20/Jan/2015:19:53:28 +0000] "\\x16\\x03\\x01" 400 0 "-" "-"',
        "access",
    )
    assert [(e.method, e.uri) for e in events if isinstance(e, HttpRequest)] == [
        ("GET", "/"),
        ("", "\\x16\\x03\\x01"),
    ]


def test_nginx_error_auth_failure_uses_the_real_client() -> None:
    event = one(
        '2014/04/03 22:20:40 [error] 30708#0: *3 user "test": password mismatch, client: '
        '127.0.0.1, server: t, request: "GET / HTTP/1.1", host: "x"": was not found in "/p", '
        'client: 192.0.2.2, server: , request: "GET / HTTP/1.1", host: "localhost"',
        "weberror",
    )
    assert isinstance(event, AuthEvent) and event.src_ip == "192.0.2.2"


def test_apache_error_not_found_is_a_web_error() -> None:
    event = one(
        "[Sun Sep 14 21:44:43.008606 2014] [authz_core:error] [pid 10691] "
        "[client 192.3.9.178:44271] AH01630: client denied by server configuration: /x",
        "weberror",
    )
    assert isinstance(event, WebError)
    assert (event.src_ip, event.src_port, event.module, event.level) == (
        "192.3.9.178",
        44271,
        "authz_core",
        "error",
    )


def test_netfilter_log_line() -> None:
    event = one(
        "Mar 11 20:35:11 fw kernel: [463490.251762] DROP IN=eth1 OUT= MAC=00:11 "
        "SRC=192.168.10.55 DST=192.168.10.1 LEN=44 TTL=53 PROTO=TCP SPT=56247 DPT=1025 SYN",
        "netfilter",
    )
    assert isinstance(event, FirewallEvent)
    assert (event.src_ip, event.dst_port, event.transport, event.action, event.rule) == (
        "192.168.10.55",
        1025,
        Transport.TCP,
        FirewallAction.DROP,
        "DROP",
    )


EVE_ALERT = {
    "timestamp": "2019-01-02T03:50:11.315110+0000",
    "event_type": "alert",
    "src_ip": "8.42.77.171",
    "src_port": 49678,
    "dest_ip": "138.68.3.71",
    "dest_port": 22,
    "proto": "TCP",
    "alert": {
        "action": "allowed",
        "signature_id": 2001219,
        "signature": "ET SCAN Potential SSH Scan",
        "category": "Attempted Information Leak",
        "severity": 2,
    },
}


def eve(**record: object) -> str:
    base = {k: EVE_ALERT[k] for k in ("timestamp", "src_ip", "src_port", "dest_ip", "dest_port")}
    return json.dumps(base | {"proto": "UDP"} | record)


def test_eve_alert_keeps_signature_and_severity() -> None:
    event = one(json.dumps(EVE_ALERT), "eve")
    assert isinstance(event, IdsAlert)
    assert (event.kind, event.signature_id, event.severity, event.category, event.dst_port) == (
        IdsKind.ALERT,
        2001219,
        2,
        "Attempted Information Leak",
        22,
    )


def test_eve_flow_dns_http_tls_anomaly() -> None:
    lines = [
        eve(
            event_type="flow",
            flow={"pkts_toserver": 1, "pkts_toclient": 0, "start": "2019-01-02T03:50:11+0000"},
        ),
        eve(event_type="dns", dns={"type": "query", "rrname": "a.cn", "rrtype": "A"}),
        eve(
            event_type="http",
            http={"hostname": "a.cn", "url": "/x", "http_method": "GET", "status": 404},
        ),
        eve(event_type="tls", tls={"sni": "a.cn", "version": "TLS 1.2", "ja3": {"hash": "abc"}}),
        eve(event_type="anomaly", anomaly={"type": "decode", "event": "ipv4.trunc_pkt"}),
        eve(event_type="stats", stats={}),
    ]
    events, stats = parse_text("\n".join(lines), "eve")
    assert [type(e).__name__ for e in events] == [
        "Flow",
        "DnsQuery",
        "HttpRequest",
        "TlsHello",
        "IdsAlert",
    ]
    assert isinstance(events[0], Flow) and events[0].outcome is TcpOutcome.UNANSWERED
    assert isinstance(events[1], DnsQuery) and events[1].query == "a.cn"
    assert isinstance(events[3], TlsHello) and events[3].ja3 == "abc"
    assert isinstance(events[4], IdsAlert) and events[4].kind is IdsKind.ANOMALY
    assert stats.quiet == 1 and stats.unparsed == 0


ZEEK_TSV = "\n".join(
    [
        "#separator \\x09",
        "#path\tconn",
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration"
        "\tconn_state\torig_pkts\tresp_pkts",
        "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tstring\tcount\tcount",
        "1677024003.71\tC1\t192.168.1.107\t65164\t66.63.168.35\t5888\ttcp\t0.03\tREJ\t2\t2",
        "1677024004.00\tC2\t192.168.1.107\t65165\t66.63.168.35\t80\ttcp\t-\tS0\t1\t0",
    ]
)


def test_zeek_tsv_conn_states() -> None:
    events, stats = parse_text(ZEEK_TSV, "zeek")
    assert [(e.dst_port, e.outcome) for e in events if isinstance(e, Flow)] == [
        (5888, TcpOutcome.REJECTED),
        (80, TcpOutcome.UNANSWERED),
    ]
    assert stats.quiet == 4


def test_zeek_json_notice_and_http() -> None:
    notice = {"ts": 1.5, "note": "Scan::Port_Scan", "msg": "scan", "src": "10.0.0.9", "p": 22}
    http = {
        "ts": 2.0,
        "id.orig_h": "10.0.0.2",
        "id.orig_p": 1,
        "id.resp_h": "10.0.0.3",
        "id.resp_p": 80,
        "method": "GET",
        "uri": "/bin.sh",
        "status_code": 200,
    }
    events, _ = parse_text(json.dumps(notice) + "\n" + json.dumps(http), "zeek")
    first, second = events
    assert isinstance(first, IdsAlert) and (first.signature, first.src_ip) == (
        "Scan::Port_Scan",
        "10.0.0.9",
    )
    assert isinstance(second, HttpRequest) and second.uri == "/bin.sh"
