"""OpenSSH and PAM authentication lines (auth.log, secure, journald exports) → ``AuthEvent``.

Each line is one fact: a failed or accepted password/publickey, an invalid user, a refused or
abandoned pre-authentication connection, a PAM failure. Lines that name no address
(``Disconnecting: Too many authentication failures``) take it from the same sshd process's
earlier ``Connection from`` line, as fail2ban's multi-line filter does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from sensors.events import AuthEvent, AuthOutcome, Event
from sensors.logs.addresses import IPV4, host_or_ip
from sensors.logs.parser import Clock, LogContext
from sensors.logs.records import filled
from sensors.logs.syslog import parse_syslog
from sensors.logs.timestamps import bsd_time

FAIL, OK, UNKNOWN = AuthOutcome.FAILURE, AuthOutcome.SUCCESS, AuthOutcome.UNKNOWN
_HOST = r"(?P<host>[^\s()\[\]]+?)(?=[\s:,)]|$)"
_PORT = r"(?: port (?P<port>\d+))?"
_PREAUTH = r"(?P<preauth> \[preauth\])?$"


@dataclass(frozen=True)
class _Rule:
    """One message shape: its pattern (named groups user/host/method), outcome and reason."""

    pattern: re.Pattern[str]
    outcome: AuthOutcome | None  # None: an outcome only when the line says [preauth]
    reason: str


def _rule(pattern: str, outcome: AuthOutcome | None, reason: str) -> _Rule:
    return _Rule(re.compile(pattern, re.I), outcome, reason)


# Most frequent first: the first match wins. The lazy user plus the anchored tail picks the
# real peer when a username contains " from 1.2.3.4" (an injection fail2ban tests for).
RULES: tuple[_Rule, ...] = (
    _rule(
        rf"Failed (?P<method>\S+) for (?:invalid user )?(?P<user>.*?) from {_HOST}{_PORT}"
        r"(?: ssh\d?)?(?:: .*)?$",
        FAIL,
        "failed authentication",
    ),
    _rule(
        rf"Accepted (?P<method>\S+) for (?P<user>\S+) from {_HOST}{_PORT}(?: ssh\d?)?(?:: .*)?$",
        OK,
        "accepted",
    ),
    _rule(rf"Invalid user (?P<user>.*?) from {_HOST}{_PORT}$", FAIL, "invalid user"),
    _rule(
        r"(?:\S+\()?pam_\w+(?:\([^)]*\))?:? authentication failure;.*?\brhost=(?:::f{4,6}:)?"
        r"(?P<host>\S+)(?:\s+user=(?P<user>.*?))?\s*$|\(pam_unix\) authentication failure;"
        r".*?\brhost=(?P<host2>\S+)(?:\s+user=(?P<user2>.*?))?\s*$",
        FAIL,
        "PAM authentication failure",
    ),
    _rule(
        r"PAM: (?:User not known to the underlying authentication module|Authentication "
        rf"(?:failure|error)) for (?:illegal user )?(?P<user>.*?) from {_HOST}(?: via \S+)?\s*$",
        FAIL,
        "PAM authentication failure",
    ),
    _rule(
        rf"Connection (?:closed|reset) by (?:(?:invalid|authenticating) user (?P<user>\S*) +)?"
        rf"(?:\S+ (?:port \d+ )?)?{_HOST}{_PORT}{_PREAUTH}",
        None,
        "disconnected before authentication",
    ),
    _rule(
        rf"Disconnected from (?:(?:invalid|authenticating) user (?P<user>\S+) )?{_HOST}{_PORT}"
        rf"{_PREAUTH}",
        None,
        "disconnected before authentication",
    ),
    _rule(
        rf"Received disconnect from {_HOST}{_PORT}: ?(?:3|14): .*",
        FAIL,
        "client gave up authenticating",
    ),
    _rule(
        rf"Received disconnect from {_HOST}{_PORT}: ?\d+: .*?{_PREAUTH}",
        None,
        "disconnected before authentication",
    ),
    _rule(rf"User (?P<user>\S+) from {_HOST} not allowed because .*", FAIL, "user not allowed"),
    _rule(rf"ROOT LOGIN REFUSED FROM {_HOST}{_PORT}(?: \[preauth\])?$", FAIL, "root refused"),
    # Modern sshd reports a maximum-attempts failure twice; the "error:" line above counts it.
    _rule(
        rf"Disconnecting (?:invalid|authenticating) user (?P<user>\S+) {_HOST}{_PORT}: "
        r"Too many authentication failures.*",
        None,
        "too many authentication failures",
    ),
    _rule(
        rf"Disconnecting (?:invalid|authenticating) user (?P<user>\S+) {_HOST}{_PORT}: .*",
        FAIL,
        "disconnected during authentication",
    ),
    _rule(
        r"(?:Disconnecting: )?Too many authentication failures(?: for (?:invalid user )?"
        r"(?P<user>\S+))?(?: \[preauth\])?$",
        FAIL,
        "too many authentication failures",
    ),
    _rule(
        r"maximum authentication attempts exceeded for (?:invalid user )?(?P<user>\S+) from "
        rf"{_HOST}{_PORT}.*",
        FAIL,
        "too many authentication failures",
    ),
    _rule(rf"Did not receive identification string from {_HOST}{_PORT}$", FAIL, "no banner"),
    _rule(rf"Bad protocol version identification .* from {_HOST}{_PORT}$", FAIL, "bad banner"),
    _rule(
        rf"(?:Unable to negotiate with|banner exchange: Connection from|"
        rf"ssh_dispatch_run_fatal: Connection from) {_HOST}{_PORT}: .*",
        FAIL,
        "protocol negotiation failed",
    ),
    _rule(
        r"(?:kex_exchange_identification: .*|Unable to negotiate a key exchange method.*|"
        r"no matching \S+ found: .*)",
        FAIL,
        "protocol negotiation failed",
    ),
    _rule(
        rf"Timeout before authentication for (?:connection from )?{_HOST}(?: port \d+| to .*)?$",
        FAIL,
        "timeout before authentication",
    ),
    _rule(
        rf"refused connect from \S+ \((?:::f{{4,6}}:)?{_HOST}\)$", FAIL, "refused by tcpwrappers"
    ),
    _rule(r"User (?P<user>\S+) not allowed because account is locked$", FAIL, "account locked"),
    _rule(
        rf"Address {_HOST} maps to \S+, but this does not map back to the address.*",
        UNKNOWN,
        "reverse DNS mismatch",
    ),
)
# Every rule but the PAM one begins with a fixed word, so a message's first word (lowercased:
# the rules ignore case) names the first rule that can match it; no earlier rule can. A word
# no rule begins with can only be the PAM rule's ("pam_unix(sshd:auth):"), or nothing.
_FIRST_RULE = {
    "failed": 0,
    "accepted": 1,
    "invalid": 2,
    "pam:": 4,
    "connection": 5,
    "disconnected": 6,
    "received": 7,
    "user": 9,
    "root": 10,
    "disconnecting": 11,
    "disconnecting:": 13,
    "too": 13,
    "maximum": 14,
    "did": 15,
    "bad": 16,
    "unable": 17,
    "banner": 17,
    "ssh_dispatch_run_fatal:": 17,
    "kex_exchange_identification:": 18,
    "no": 18,
    "timeout": 19,
    "refused": 20,
    "address": 22,
}
_RULES_FROM = {word: RULES[start:] for word, start in _FIRST_RULE.items()}
_PAM_RULE = 3


def rules_for(body: str) -> tuple[_Rule, ...]:
    """The rules that can match a message, in order (the full list minus ones that cannot)."""
    word = body.partition(" ")[0].lower()
    found = _RULES_FROM.get(word)
    if found is not None:
        return found
    return RULES[_PAM_RULE:] if "pam_" in word else ()


# The common header ("Mar  7 10:00:00 host sshd[123]: "), read without the general syslog
# parser; a host without ":[]" is what that parser also reads as the host of such a line.
_SSHD_HEADER = re.compile(
    r"(?:<\d{1,3}>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d:\d\d:\d\d) ([^\s:\[\]]+) sshd\[(\d+)\]: "
)
# The most frequent lines of all, in one expression with their header: what RULES[0] or [1]
# would read from them (a plain user, a canonical IPv4 peer), without the general path.
_HOT = re.compile(
    _SSHD_HEADER.pattern
    + rf"(?:(Failed)|Accepted) (\S+) for (?(6)(?:invalid user )?)(\S+) from ({IPV4}) port \d+ ssh2$"
)
_CONNECT = re.compile(rf"Connection from {_HOST}{_PORT}(?: on (?P<local>\S+) port (?P<lport>\d+))?")
_NOISE = re.compile(r"^(?:\[ID \d+ [\w.]+\] )?(?:(?:error|fatal): )?")
_PEERS_KEPT = 10_000  # sshd processes whose peer is remembered (bounded: a flood cannot grow it)


class SshdParser:
    """sshd and PAM authentication lines → ``AuthEvent``."""

    name: ClassVar[str] = "sshd"

    def __init__(self, context: LogContext) -> None:
        self.context = context
        self.clock = Clock()
        self._peers: dict[tuple[str, str], str] = {}  # (host, pid) -> peer address

    def parse(self, text: str, line: int | None) -> list[Event] | None:
        """Events of one auth-log line; None when it is neither sshd nor PAM."""
        hot = _HOT.match(text)
        if hot is not None:
            return self._hot(hot, text, line)
        head = _SSHD_HEADER.match(text)
        if head is not None:  # the common shape: a cheap header, then the message rules
            month, day, clock, host, pid = head.groups()
            time = bsd_time(month, day, clock, self.context.year)
            return self._message(time, host, "sshd", pid, text[head.end() :], text, line)
        msg = parse_syslog(text, self.context.year)
        return self._message(msg.time, msg.host, msg.app, msg.pid, msg.message, text, line)

    def _message(
        self,
        time: float | None,
        host: str,
        app: str,
        pid: str,
        body: str,
        text: str,
        line: int | None,
    ) -> list[Event] | None:
        if body[:1] in "[ef":  # "[ID 800047 auth.info] ", "error: ", "fatal: " (rare)
            body = _NOISE.sub("", body, count=1)
        is_sshd = app.startswith("sshd") or app == "ssh"
        if not is_sshd and "authentication failure;" not in body:
            return None
        if is_sshd and body.startswith("pam_unix(sshd:auth)"):
            return []  # sshd logs the same attempt itself ("Failed password"): count it once
        for rule in rules_for(body):
            found = rule.pattern.match(body)
            if found is not None:
                return self._event(time, host, app, pid, rule, found, text, line)
        connect = _CONNECT.match(body)
        if connect is not None and pid:
            self._keep(host, pid, connect["host"])
        return [] if is_sshd else None

    def _event(
        self,
        time: float | None,
        host: str,
        app: str,
        pid: str,
        rule: _Rule,
        found: re.Match[str],
        text: str,
        line: int | None,
    ) -> list[Event]:
        groups = found.groupdict()
        method = groups.get("method") or ""
        outcome = rule.outcome or (FAIL if groups.get("preauth") is not None else None)
        reason = rule.reason
        if method == "publickey" and outcome is FAIL:
            # A rejected key offer is routine (clients try every key they hold), not a failed
            # login; fail2ban counts it only when no key is accepted, which "Too many
            # authentication failures" then reports.
            outcome, reason = UNKNOWN, "public key offered, not accepted"
        peer = groups.get("host") or groups.get("host2")
        if peer is None:
            peer = self._peers.get((host, pid))
        elif pid:
            self._keep(host, pid, peer)
        if outcome is None:
            return []
        ip, domain = host_or_ip(peer) if peer else (None, None)
        # Every field is checked above (address canonical, strings, enum): fill it directly.
        values = {
            "time": self.clock.stamp(time),
            "sensor": self.context.sensor,
            "src_ip": ip,
            "dst_ip": None,
            "dst_port": None,
            "host": host,
            "service": app.strip("[]") or "sshd",
            "user": (groups.get("user") or groups.get("user2") or "").strip(),
            "outcome": outcome,
            "method": method,
            "reason": reason,
            "origin": self.context.origin,
            "line": line,
            "original": text,
            "src_domain": domain,
            "log_source": None,
        }
        return [filled(AuthEvent, values)]

    def _hot(self, found: re.Match[str], text: str, line: int | None) -> list[Event]:
        """The event of a plain failed or accepted login (what :meth:`_event` would build)."""
        month, day, clock, host, pid, failed, method, user, ip = found.groups()
        outcome, reason = (FAIL, "failed authentication") if failed else (OK, "accepted")
        if method == "publickey" and failed:  # a rejected key offer: see _event
            outcome, reason = UNKNOWN, "public key offered, not accepted"
        self._keep(host, pid, ip)
        values = {
            "time": self.clock.stamp(bsd_time(month, day, clock, self.context.year)),
            "sensor": self.context.sensor,
            "src_ip": ip,
            "dst_ip": None,
            "dst_port": None,
            "host": host,
            "service": "sshd",
            "user": user,
            "outcome": outcome,
            "method": method,
            "reason": reason,
            "origin": self.context.origin,
            "line": line,
            "original": text,
            "src_domain": None,
            "log_source": None,
        }
        return [filled(AuthEvent, values)]

    def _keep(self, host: str, pid: str, peer: str) -> None:
        self._peers[(host, pid)] = peer
        if len(self._peers) > _PEERS_KEPT:
            del self._peers[next(iter(self._peers))]
