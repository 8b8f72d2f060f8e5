"""Parsers' fast paths: records filled directly equal constructed ones, and agree with the
general path they short-cut."""

from __future__ import annotations

import dataclasses

import pytest

from sensors.events import AuthEvent, AuthOutcome, Event
from sensors.logs.access import AccessLogParser
from sensors.logs.parser import LogContext
from sensors.logs.sshd import RULES, SshdParser, _Rule, rules_for

HOT = "Mar  7 10:00:01 bastion sshd[42]: {what} from 203.0.113.9 port 50273 ssh2"
LINES = [
    HOT.format(what="Failed password for root"),
    HOT.format(what="Failed password for invalid user oracle"),
    HOT.format(what="Failed publickey for git"),
    HOT.format(what="Accepted password for admin"),
    "<38>" + HOT.format(what="Accepted publickey for admin"),
    "Mar  7 10:00:02 bastion sshd[42]: Invalid user test from 198.51.100.7 port 2222",
    "Mar  7 10:00:03 bastion sshd[42]: Connection closed by 198.51.100.7 port 2 [preauth]",
    "Mar  7 10:00:04 bastion sshd[43]: error: maximum authentication attempts exceeded for "
    "root from 192.0.2.1 port 22 ssh2 [preauth]",
]
ACCESS = '203.0.113.9 - bob [07/Mar/2024:10:00:01 +0800] "GET /a?b HTTP/1.1" 404 12 "-" "ua"'


def events(parser: SshdParser | AccessLogParser, lines: list[str]) -> list[Event]:
    found: list[Event] = []
    for number, text in enumerate(lines, 1):
        found += parser.parse(text, number) or []
    return found


def test_filled_records_equal_constructed_ones() -> None:
    context = LogContext(sensor="s", origin="auth.log", year=2024)
    found = events(SshdParser(context), LINES) + events(AccessLogParser(context), [ACCESS])
    assert len(found) == len(LINES) + 1
    for event in found:
        rebuilt = dataclasses.replace(event)  # through the dataclass __init__
        assert rebuilt == event and rebuilt.id == event.id and hash(rebuilt) == hash(event)
        fields = [name for name in vars(event) if not name.startswith("_")]  # not id caches
        assert fields == [f.name for f in dataclasses.fields(event)]


@pytest.mark.parametrize("line", LINES[:5])
def test_hot_lines_read_as_the_general_rules_read_them(line: str) -> None:
    # A fractional second keeps the line out of the one-expression fast path.
    general = line.replace("10:00:01", "10:00:01.5")
    parser = SshdParser(LogContext(year=2024))
    fast, slow = parser.parse(line, 1), parser.parse(general, 1)
    assert fast is not None and slow is not None and len(fast) == len(slow) == 1
    assert isinstance(slow[0], AuthEvent)
    assert fast[0] == dataclasses.replace(slow[0], original=line)


def test_injected_peer_in_the_user_name_is_not_taken_by_the_fast_path() -> None:
    line = HOT.format(what="Failed password for invalid user x from 1.2.3.4")
    (event,) = SshdParser(LogContext(year=2024)).parse(line, 1) or []
    assert isinstance(event, AuthEvent)
    assert (event.src_ip, event.user, event.outcome) == (
        "203.0.113.9",
        "x from 1.2.3.4",
        AuthOutcome.FAILURE,
    )


def test_a_rejected_key_offer_is_not_a_failed_login() -> None:
    (event,) = SshdParser(LogContext(year=2024)).parse(LINES[2], 1) or []
    assert isinstance(event, AuthEvent) and event.outcome is AuthOutcome.UNKNOWN


BODIES = [
    "Failed password for root from 192.0.2.1 port 22 ssh2",
    "Accepted publickey for git from 192.0.2.1 port 22 ssh2",
    "Invalid user admin from 192.0.2.1 port 4",
    "pam_unix(sshd:auth): authentication failure; logname= uid=0 rhost=192.0.2.1  user=root",
    "(pam_unix) authentication failure; logname= uid=0 rhost=192.0.2.1",
    "PAM: Authentication failure for root from 192.0.2.1",
    "Connection closed by 192.0.2.1 port 4 [preauth]",
    "Disconnected from invalid user a 192.0.2.1 port 4 [preauth]",
    "Received disconnect from 192.0.2.1 port 4:11: Bye Bye [preauth]",
    "Received disconnect from 192.0.2.1: 3: Auth fail",
    "User root from 192.0.2.1 not allowed because not listed in AllowUsers",
    "ROOT LOGIN REFUSED FROM 192.0.2.1",
    "Disconnecting invalid user a 192.0.2.1 port 4: Too many authentication failures",
    "Disconnecting authenticating user a 192.0.2.1 port 4: Change of username",
    "Disconnecting: Too many authentication failures for root [preauth]",
    "Too many authentication failures for root",
    "maximum authentication attempts exceeded for root from 192.0.2.1 port 4 ssh2",
    "Did not receive identification string from 192.0.2.1",
    "Bad protocol version identification 'x' from 192.0.2.1 port 4",
    "Unable to negotiate with 192.0.2.1 port 4: no matching key exchange method found.",
    "banner exchange: Connection from 192.0.2.1 port 4: invalid format",
    "kex_exchange_identification: Connection closed by remote host",
    "no matching cipher found: client x server y",
    "Timeout before authentication for 192.0.2.1 port 4",
    "refused connect from host.example (192.0.2.1)",
    "User bob not allowed because account is locked",
    "Address 192.0.2.1 maps to x.example, but this does not map back to the address",
    "FAILED PASSWORD FOR ROOT FROM 192.0.2.1 PORT 22 SSH2",
    "Server listening on 0.0.0.0 port 22.",
    "Connection from 192.0.2.1 port 4 on 10.0.0.1 port 22",
]


def first_match(rules: tuple[_Rule, ...], body: str) -> _Rule | None:
    return next((r for r in rules if r.pattern.match(body)), None)


@pytest.mark.parametrize("body", BODIES)
def test_first_word_dispatch_picks_the_rule_the_full_scan_picks(body: str) -> None:
    assert first_match(rules_for(body), body) is first_match(RULES, body)


def test_every_rule_is_reached_by_some_body() -> None:
    picked = {id(first_match(RULES, body)) for body in BODIES}
    assert all(id(rule) in picked for rule in RULES)
