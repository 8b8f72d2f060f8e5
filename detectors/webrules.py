"""Web-attack rules: decoding of request parts and a CRS-style rule table, written by us.

The rules follow the semantics of the OWASP Core Rule Set groups (913 scanners, 930 LFI and
restricted files, 931 RFI, 932 command injection, 933 PHP injection, 941 XSS, 942 SQLi, 944
Java/Log4Shell); the patterns are our own.
Each rule has a severity (critical 5, error 4, warning 3, notice 2 anomaly points) and a
paranoia level: level 1 rules rarely match benign requests, level 2 adds broader patterns.
Every part is decoded before matching: URL decoding repeated until stable (double encoding),
IIS ``%uXXXX``, HTML entities, and base64 for the parameter values of rules marked for it.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal
from urllib.parse import unquote

Part = Literal["path", "args", "agent"]
"""Where in the request a rule looks: the path, the query string, the User-Agent header."""


class RuleSeverity(IntEnum):
    """CRS severities, valued by the anomaly points a match adds."""

    NOTICE = 2
    WARNING = 3
    ERROR = 4
    CRITICAL = 5


@dataclass(frozen=True, kw_only=True)
class WebRule:
    """One pattern: the attack class it indicates, its points and its paranoia level."""

    id: str
    attack: str
    severity: RuleSeverity
    paranoia: int
    parts: tuple[Part, ...]
    pattern: re.Pattern[str]
    base64: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.paranoia <= 4:
            raise ValueError(f"paranoia: {self.paranoia} is not 1-4")


def _rule(
    rid: str,
    attack: str,
    severity: RuleSeverity,
    paranoia: int,
    parts: tuple[Part, ...],
    pattern: str,
    *,
    base64: bool = False,
) -> WebRule:
    compiled = re.compile(pattern, re.IGNORECASE | re.DOTALL)
    return WebRule(
        id=rid,
        attack=attack,
        severity=severity,
        paranoia=paranoia,
        parts=parts,
        pattern=compiled,
        base64=base64,
    )


CRIT, ERR, WARN, NOTE = (
    RuleSeverity.CRITICAL,
    RuleSeverity.ERROR,
    RuleSeverity.WARNING,
    RuleSeverity.NOTICE,
)
ARGS: tuple[Part, ...] = ("args",)
URI: tuple[Part, ...] = ("path", "args")
ANY: tuple[Part, ...] = ("path", "args", "agent")

_CMDS = r"(?:cat|ls|id|whoami|uname|wget|curl|nc|ncat|bash|sh|ping|nslookup|powershell|cmd|echo)"

RULES: tuple[WebRule, ...] = (
    # 942: SQL injection
    _rule(
        "sqli-union",
        "sqli",
        CRIT,
        1,
        URI,
        r"\bunion\b(?:\s|/\*.*?\*/|\()*(?:all\s+|distinct\s+)?\(?\s*select\b",
        base64=True,
    ),
    _rule(
        "sqli-tautology-quoted",
        "sqli",
        CRIT,
        1,
        ARGS,
        r"['\"`]\s*(?:or|and|xor|\|\||&&)\s*['\"`]?\w+['\"`]?\s*(?:=|<>|!=|like\b)\s*['\"`]?\w+",
    ),
    _rule(
        "sqli-tautology-numeric",
        "sqli",
        CRIT,
        1,
        ARGS,
        r"(?:^|[\s'\"`)(=])(?:or|and|xor)\s+\(?-?\d+\)?\s*(?:=|<>|!=|<|>)\s*\(?-?\d+",
    ),
    _rule(
        "sqli-time",
        "sqli",
        CRIT,
        1,
        ARGS,
        r"\b(?:sleep|benchmark|pg_sleep)\s*\(|\bwaitfor\s+delay\b",
    ),
    _rule(
        "sqli-comment-tail",
        "sqli",
        CRIT,
        1,
        ARGS,
        r"(?:['\"`)]|\b\d+)\s*(?:;\s*)?(?:--(?:\s|-|$)|#\s*$)|\border\s+by\s+\d+\s*(?:--|#|/\*)",
    ),
    _rule(
        "sqli-comment-keyword",
        "sqli",
        CRIT,
        1,
        ARGS,
        r"/\*!?\d*\s*(?:select|union|insert|update|delete|drop|and|or)\b",
    ),
    _rule(
        "sqli-functions",
        "sqli",
        CRIT,
        1,
        ARGS,
        r"@@(?:version|datadir|hostname)\b|\binformation_schema\b|\bsysobjects\b|\b(?:load_file|extractvalue|updatexml|group_concat)\s*\(|\binto\s+(?:out|dump)file\b",
    ),
    _rule("sqli-concat", "sqli", CRIT, 1, ARGS, r"['\"]\s*(?:\+|\|\|)\s*['\"]"),
    _rule(
        "sqli-stacked",
        "sqli",
        CRIT,
        1,
        ARGS,
        r";\s*(?:drop|insert|update|delete|shutdown|exec)\b\s+\w",
    ),
    _rule("sqli-select-from", "sqli", WARN, 2, ARGS, r"\bselect\b.{1,100}?\bfrom\b"),
    _rule("sqli-meta-chars", "sqli", WARN, 2, ARGS, r"['\"`].*?[()].*?[()'\"`]|['\"`]\s*$"),
    # 941: cross-site scripting
    _rule("xss-script-tag", "xss", CRIT, 1, ANY, r"<\s*/?\s*script\b", base64=True),
    _rule("xss-event-handler", "xss", CRIT, 1, URI, r"<[a-z][^>]*\bon[a-z]{3,20}\s*="),
    _rule("xss-js-uri", "xss", CRIT, 1, URI, r"(?:javascript|vbscript)\s*:"),
    _rule("xss-tags", "xss", CRIT, 1, URI, r"<\s*(?:iframe|object|embed|svg|applet|meta|base)\b"),
    _rule(
        "xss-dom",
        "xss",
        ERR,
        2,
        URI,
        r"\b(?:document\.(?:cookie|location|write)|alert\s*\(|eval\s*\()",
    ),
    _rule("xss-html-tag", "xss", NOTE, 2, ARGS, r"<[a-z]+[\s/>]"),
    # 930: path traversal and local file inclusion
    _rule("lfi-traversal", "traversal", CRIT, 1, URI, r"(?:^|[/\\=])\.\.[/\\]"),
    _rule(
        "lfi-os-files",
        "traversal",
        CRIT,
        1,
        URI,
        r"/etc/(?:passwd|shadow|group|hosts|issue)\b|/proc/self/|\bboot\.ini\b|\bwin\.ini\b|\bweb\.config\b",
    ),
    _rule(
        "lfi-wrappers", "traversal", CRIT, 1, ARGS, r"\b(?:php|file|zip|phar|data|expect|glob)://"
    ),
    _rule("lfi-null-byte", "traversal", ERR, 1, URI, r"\x00"),
    _rule(
        "lfi-restricted-files",
        "traversal",
        CRIT,
        1,
        ("path",),
        r"/\.(?:htpasswd|htaccess|env|git|svn|hg|bzr|cvs|ssh|aws|docker|bash_history|sh_history|mysql_history|rhosts|passwd|pwd|netrc|npmrc|ds_store)\b|/(?:web-inf|meta-inf)/|\bwp-config\.php\.(?:bak|old|save|swp|orig)\b",
    ),
    _rule(
        "rfi-ip-url", "traversal", CRIT, 1, ARGS, r"=\s*(?:https?|ftp)://\d{1,3}(?:\.\d{1,3}){3}"
    ),
    # 932: OS command injection
    _rule("cmdi-separator", "cmdi", CRIT, 1, ARGS, rf"(?:[;|`]|&&|\$\()\s*{_CMDS}\b", base64=True),
    _rule(
        "cmdi-unix-paths",
        "cmdi",
        CRIT,
        1,
        ARGS,
        r"/(?:bin|usr/bin)/(?:ba|z|da)?sh\b|\bcmd(?:\.exe)?\s+/c\b",
    ),
    # 933 and 944: PHP and Java code injection
    _rule(
        "rce-php",
        "cmdi",
        CRIT,
        1,
        ARGS,
        r"<\?(?:php\b|=)|\b(?:call_user_func(?:_array)?|create_function|passthru|shell_exec|proc_open|pcntl_exec|phpinfo)\b",
        base64=True,
    ),
    _rule(
        "rce-java-expression",
        "cmdi",
        CRIT,
        1,
        URI,
        r"[$%]\{[^}]*?(?:@java\.|java\.lang\.|getruntime|\.exec\s*\(|#_memberaccess|@ognl)",
    ),
    # 944: Java, Log4Shell
    _rule("log4shell-jndi", "log4shell", CRIT, 1, ANY, r"\$\{\s*jndi\s*:", base64=True),
    # Shellshock (932 Unix shell): a function definition in a header or parameter
    _rule("shellshock", "shellshock", CRIT, 1, ANY, r"\(\s*\)\s*\{"),
    # webshell-style requests: a known shell's name, or a command passed to a script
    _rule(
        "webshell-name",
        "webshell",
        CRIT,
        1,
        ("path",),
        r"/[\w-]*(?:c99|r57|wso|b374k|c100|shell|cmd|chopper)[\w-]*\.(?:php\d?|aspx?|jspx?)\b",
    ),
    _rule(
        "webshell-command",
        "webshell",
        CRIT,
        1,
        ARGS,
        rf"(?:^|&)(?:cmd|exec|command|execute|shell)={_CMDS}\b",
    ),
    # 913: scanner user agents
    _rule(
        "scanner-agent",
        "scanner",
        CRIT,
        1,
        ("agent",),
        r"\b(?:sqlmap|nikto|nmap|masscan|acunetix|nessus|openvas|w3af|dirbuster|gobuster|wpscan|zgrab|nuclei|havij|zmeu|jaeles|arachni|appscan|webinspect|netsparker|fimap|commix)\b",
    ),
)
"""Every web rule, scored per request at or below the configured paranoia level."""


@dataclass(frozen=True, kw_only=True)
class Match:
    """One rule that matched one request, with the decoded text around the match."""

    rule: WebRule
    part: Part
    excerpt: str


_PERCENT_U = re.compile(r"%u([0-9a-fA-F]{4})")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]{16,}={0,2}$")


def url_decode(text: str, *, plus: bool, rounds: int = 3) -> str:
    """Percent-decode (also ``%uXXXX``) until stable, at most ``rounds`` times (double encoding)."""
    if plus:
        text = text.replace("+", " ")
    for _ in range(rounds):
        decoded = unquote(
            _PERCENT_U.sub(lambda m: chr(int(m.group(1), 16)), text), errors="replace"
        )
        if decoded == text:
            break
        text = decoded
    return text


def normalise(text: str, *, plus: bool) -> str:
    """A request part as the rules see it: URL- and entity-decoded, whitespace compressed."""
    decoded = html.unescape(url_decode(text, plus=plus))
    return unnest_lookups(re.sub(r"\s+", " ", decoded))


_LOOKUP = re.compile(r"\$\{(?:lower:|upper:|[^${}]*?:-)([^${}]*)\}", re.IGNORECASE)


def unnest_lookups(text: str, rounds: int = 8) -> str:
    """Resolve Log4j lookups that only hide characters (``${lower:j}``, ``${::-n}``)."""
    for _ in range(rounds):
        if "${" not in text:
            break
        resolved = _LOOKUP.sub(lambda m: m.group(1), text)
        if resolved == text:
            break
        text = resolved
    return text


def base64_values(args: str) -> Iterator[str]:
    """Decoded parameter values that look like base64 and decode to printable text."""
    for pair in args.split("&"):
        value = pair.partition("=")[2]
        if not _BASE64.match(value):
            continue
        padded = value + "=" * (-len(value) % 4)
        try:
            text = base64.b64decode(padded, altchars=b"-_", validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            continue
        if text.isprintable():
            yield text


def request_parts(uri: str, agent: str) -> dict[Part, str]:
    """Split a raw request target into its decoded path and query string, plus the agent."""
    path, _, query = uri.partition("?")
    return {
        "path": normalise(path, plus=False),
        "args": normalise(query, plus=True),
        "agent": normalise(agent, plus=False),
    }


def match_request(uri: str, agent: str, paranoia: int) -> list[Match]:
    """Every rule at or below ``paranoia`` that matches the request (one match per rule)."""
    parts = request_parts(uri, agent)
    decoded64 = list(base64_values(url_decode(uri.partition("?")[2], plus=False)))
    matches = []
    for rule in RULES:
        if rule.paranoia > paranoia:
            continue
        found = _first(rule, parts, decoded64)
        if found is not None:
            matches.append(found)
    return matches


def _first(rule: WebRule, parts: dict[Part, str], decoded64: list[str]) -> Match | None:
    for part in rule.parts:
        hit = rule.pattern.search(parts[part])
        if hit is not None:
            return Match(rule=rule, part=part, excerpt=_excerpt(parts[part], hit))
    if rule.base64 and "args" in rule.parts:
        for text in decoded64:
            hit = rule.pattern.search(text)
            if hit is not None:
                return Match(rule=rule, part="args", excerpt="base64:" + _excerpt(text, hit))
    return None


def _excerpt(text: str, hit: re.Match[str], margin: int = 24) -> str:
    """The matched text with a little context, for the analyst (data, never markup)."""
    start, end = max(0, hit.start() - margin), min(len(text), hit.end() + margin)
    return text[start:end]


def anomaly_score(matches: list[Match], paranoia: int) -> int:
    """Sum of the severities of the matches at or below ``paranoia`` (CRS inbound score)."""
    return sum(int(m.rule.severity) for m in matches if m.rule.paranoia <= paranoia)
