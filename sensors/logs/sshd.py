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
from sensors.logs.addresses import host_or_ip
from sensors.logs.parser import Clock, LogContext
from sensors.logs.syslog import SyslogMessage, parse_syslog

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
        msg = parse_syslog(text, self.context.year)
        body = msg.message
        if body[:1] in "[ef":  # "[ID 800047 auth.info] ", "error: ", "fatal: " (rare)
            body = _NOISE.sub("", body, count=1)
        is_sshd = msg.app.startswith("sshd") or msg.app == "ssh"
        if not is_sshd and "authentication failure;" not in body:
            return None
        if is_sshd and body.startswith("pam_unix(sshd:auth)"):
            return []  # sshd logs the same attempt itself ("Failed password"): count it once
        for rule in RULES:
            found = rule.pattern.match(body)
            if found is not None:
                return self._event(msg, rule, found, text, line)
        self._remember(msg, _CONNECT.match(body))
        return [] if is_sshd else None

    def _event(
        self, msg: SyslogMessage, rule: _Rule, found: re.Match[str], text: str, line: int | None
    ) -> list[Event]:
        groups = {k: v for k, v in found.groupdict().items() if v is not None}
        outcome = rule.outcome or (FAIL if "preauth" in groups else None)
        reason = rule.reason
        if groups.get("method") == "publickey" and outcome is FAIL:
            # A rejected key offer is routine (clients try every key they hold), not a failed
            # login; fail2ban counts it only when no key is accepted, which "Too many
            # authentication failures" then reports.
            outcome, reason = UNKNOWN, "public key offered, not accepted"
        peer = groups.get("host") or groups.get("host2")
        if peer is None:
            peer = self._peers.get((msg.host, msg.pid))
        elif msg.pid:
            self._keep(msg, peer)
        if outcome is None:
            return []
        ip, domain = host_or_ip(peer) if peer else (None, None)
        return [
            AuthEvent(
                time=self.clock.stamp(msg.time),
                sensor=self.context.sensor,
                src_ip=ip,
                src_domain=domain,
                host=msg.host,
                service=msg.app.strip("[]") or "sshd",
                user=(groups.get("user") or groups.get("user2") or "").strip(),
                outcome=outcome,
                method=groups.get("method", ""),
                reason=reason,
                origin=self.context.origin,
                line=line,
                original=text,
            )
        ]

    def _remember(self, msg: SyslogMessage, found: re.Match[str] | None) -> None:
        if found is not None and msg.pid:
            self._keep(msg, found["host"])

    def _keep(self, msg: SyslogMessage, peer: str) -> None:
        self._peers[(msg.host, msg.pid)] = peer
        if len(self._peers) > _PEERS_KEPT:
            del self._peers[next(iter(self._peers))]
