"""Web-attack rules: a CRS-style rule table written by us, and the matching of requests.

The rules follow the semantics of the OWASP Core Rule Set groups (913 scanners, 930 LFI and
restricted files, 931 RFI, 932 command injection, 933 PHP injection, 941 XSS, 942 SQLi, 944
Java/Log4Shell); the patterns are our own.
Each rule has a severity (critical 5, error 4, warning 3, notice 2 anomaly points) and a
paranoia level: level 1 rules rarely match benign requests, level 2 adds broader patterns.
Every part is decoded before matching (``detectors.webdecode``): URL decoding repeated until
stable (double encoding), IIS ``%uXXXX``, ``\\xHH`` escapes, HTML entities, and base64 for the
parameter values of rules marked for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from detectors.webdecode import base64_values, normalise, url_decode
from detectors.webwords import CMDS, DANGEROUS_TAGS, DOTFILES, SQL_FUNCTIONS, SQL_FUNCTIONS_BROAD

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
    # 942151: a function only SQL has, called (``select`` may be glued on: ``selectchar(``)
    _rule(
        "sqli-function-call",
        "sqli",
        CRIT,
        1,
        ARGS,
        rf"(?:\b|select)(?:{SQL_FUNCTIONS})\s*\(",
    ),
    # UNION column counting: NULL columns after a select or a comma (``1,null,null``); a
    # value that merely is ``null,null`` (JSON-ish lists) is left alone
    _rule("sqli-null-columns", "sqli", CRIT, 1, ARGS, r"(?:\bselect\b|,)\s*null\s*,\s*null\b"),
    _rule(
        "sqli-stacked",
        "sqli",
        CRIT,
        1,
        ARGS,
        r";\s*(?:drop|insert|update|delete|shutdown|exec)\b\s+\w",
    ),
    _rule("sqli-select-from", "sqli", WARN, 2, ARGS, r"\bselect\b.{1,100}?\bfrom\b"),
    _rule(
        "sqli-function-call-broad",
        "sqli",
        WARN,
        2,
        ARGS,
        rf"\b(?:{SQL_FUNCTIONS_BROAD})\s*\(",
    ),
    _rule("sqli-meta-chars", "sqli", WARN, 2, ARGS, r"['\"`].*?[()].*?[()'\"`]|['\"`]\s*$"),
    # 941: cross-site scripting
    _rule("xss-script-tag", "xss", CRIT, 1, ANY, r"<\s*/?\s*script\b", base64=True),
    _rule("xss-event-handler", "xss", CRIT, 1, URI, r"<[a-z][^>]*\bon[a-z]{3,20}\s*="),
    _rule("xss-js-uri", "xss", CRIT, 1, URI, r"(?:javascript|vbscript)\s*:"),
    _rule("xss-tags", "xss", CRIT, 1, URI, rf"<\s*/?\s*(?:{DANGEROUS_TAGS})(?![\w-])"),
    # 941390: a JavaScript method that pops, evaluates or schedules code, called
    _rule(
        "xss-js-method",
        "xss",
        CRIT,
        1,
        ARGS,
        r"\b(?:alert|prompt|confirm|eval|settimeout|setinterval|atob|fromcharcode)\s*\(",
    ),
    _rule(
        "xss-dom",
        "xss",
        ERR,
        2,
        URI,
        r"\b(?:document\.(?:cookie|location|write)|alert\s*\(|eval\s*\()",
    ),
    # 941320: any HTML tag handler
    _rule("xss-html-tag", "xss", CRIT, 2, ARGS, r"<[a-z][a-z0-9]*(?:[\s/>]|$)"),
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
    # 920: protocol enforcement: a NUL byte, a request target that is no path, URL or authority
    _rule("protocol-null-byte", "protocol", CRIT, 1, URI, r"\x00"),
    _rule(
        "protocol-invalid-target",
        "protocol",
        WARN,
        1,
        ("path",),
        r"^(?=.)(?![/*]|[a-z][a-z0-9+.-]*://|[\w.-]+:\d+$)",
    ),
    _rule(
        "lfi-restricted-files",
        "traversal",
        CRIT,
        1,
        ("path",),
        rf"/\.(?:{DOTFILES})\b|/(?:web-inf|meta-inf)/|\bwp-config\.php\b",
    ),
    # an encoded query delimiter in the path cuts it short in rewriting proxies (evasion)
    _rule("lfi-path-delimiter", "traversal", WARN, 1, ("path",), r"\?"),
    _rule(
        "lfi-system-dirs",
        "traversal",
        WARN,
        1,
        URI,
        r"/(?:etc|proc|usr/(?:share|lib|local|bin|sbin)|var/(?:log|lib|run|spool)|root|boot)/",
    ),
    _rule(
        "rfi-ip-url", "traversal", CRIT, 1, ARGS, r"=\s*(?:https?|ftp)://\d{1,3}(?:\.\d{1,3}){3}"
    ),
    # 932: OS command injection
    # a command after a shell separator, itself followed by what a shell reads next (not by
    # ``=`` or ``:``, as in ``&&id=`` or ``;cat:0`` of ordinary query strings)
    _rule(
        "cmdi-separator",
        "cmdi",
        CRIT,
        1,
        ARGS,
        rf"(?:[;|`]|&&|\$\()\s*{CMDS}(?=[\s;|&<>`)$]|$)",
        base64=True,
    ),
    # a newline separates commands too, but free text (form text areas) has newlines: the
    # command must end the value or take an option, a path or an operator
    _rule(
        "cmdi-newline",
        "cmdi",
        CRIT,
        1,
        ARGS,
        rf"\n\s*{CMDS}(?=\s*(?:[-/$|;&<>`'\"]|$))",
    ),
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
        rf"(?:^|&)(?:cmd|exec|command|execute|shell)={CMDS}\b",
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


def request_parts(uri: str, agent: str, form: str = "") -> dict[Part, str]:
    """Split a raw request target into its decoded path and arguments (query string and
    URL-encoded form body, as CRS ``ARGS``), plus the agent."""
    path, _, query = uri.partition("?")
    return {
        "path": normalise(path, plus=False),
        "args": normalise(_arguments(query, form), plus=True),
        "agent": normalise(agent, plus=False),
    }


def _arguments(query: str, form: str) -> str:
    return f"{query}&{form}" if query and form else query or form


def match_request(uri: str, agent: str, paranoia: int, form: str = "") -> list[Match]:
    """Every rule at or below ``paranoia`` that matches the request (one match per rule)."""
    parts = request_parts(uri, agent, form)
    arguments = _arguments(uri.partition("?")[2], form)
    decoded64 = list(base64_values(url_decode(arguments, plus=False)))
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
