"""CrowdSec hub test expectations of the shared corpus (``groundtruth/crowdsec-hub/<test>/``).

Each hub test ships a ``scenario.assert``: the scenarios expected to overflow, the sources
they name and, for most, the log events inside each overflow (path, source address). Those
events are the requests the ground truth marks as attacks.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

HUB = Path("groundtruth") / "crowdsec-hub"
"""Where the hub tests' expectations sit under the corpus root."""

_SCENARIO = re.compile(r'GetScenario\(\) == "([^"]+)"')
_SOURCE = re.compile(r'^"([^"]+)" in results\[\d+\]\.Overflow\.GetSources\(\)', re.MULTILINE)
_META = re.compile(
    r'^results\[(\d+)\]\.Overflow\.Alert\.Events\[(\d+)\]\.GetMeta\("(http_path|source_ip)"\)'
    r' == "(.*)"$',
    re.MULTILINE,
)
_ESCAPE = re.compile(r"\\(.)")

ATTACK_CLASSES: tuple[tuple[str, str], ...] = (
    ("sqli", "sqli"),
    ("xss", "xss"),
    ("sensitive-files", "sensitive-files"),
    ("wpconfig", "sensitive-files"),
    ("backdoor", "webshell"),
    ("bad-user-agent", "scanner"),
    ("41773", "traversal"),
    ("42013", "traversal"),
    ("26086", "traversal"),
    ("38475", "traversal"),
    ("vmsa-2021-0027", "lfi"),
    ("44877", "cmdi"),
    ("netgear_rce", "cmdi"),
    ("26134", "code-injection"),
    ("22954", "code-injection"),
    ("thinkphp", "code-injection"),
)
"""Scenario name fragment -> attack class of its requests (labels of the hub tests).

Scenarios not listed (admin-interface, WordPress and CVE path probing, malformed requests)
probe for one product's URL and fall in ``cve-probe``: no generic rule can know those paths.
"""


@dataclass(frozen=True, kw_only=True)
class HubTest:
    """What one CrowdSec hub test expects: scenarios, source addresses, attack requests."""

    name: str
    scenarios: tuple[str, ...]
    sources: tuple[str, ...]
    requests: frozenset[tuple[str, str]]
    """(source address, raw request target) of every event inside an expected overflow."""

    @property
    def family(self) -> str | None:
        """The alert family that detects the test: brute force, flood or web attack."""
        if not self.scenarios:
            return None
        words = " ".join(self.scenarios).lower()
        if re.search(r"(?:^|[-_/])bf(?:$|[-_/\s])|bruteforce", words):
            return "bruteforce"
        if "dos" in words or "req-limit" in words:
            return "flood"
        return "webattack"

    @property
    def attack_class(self) -> str:
        """The attack class of its requests (see ``ATTACK_CLASSES``)."""
        words = " ".join(self.scenarios).lower()
        return next((cls for part, cls in ATTACK_CLASSES if part in words), "cve-probe")


def read_hub_test(corpus: Path, log: Path) -> HubTest | None:
    """The expectations of the hub test whose log is ``log`` (None: no such test)."""
    folder = corpus / HUB / log.stem
    text = _read(folder / "scenario.assert")
    if text is None:
        return None
    events: dict[tuple[str, str], dict[str, str]] = {}
    for result, event, key, value in _META.findall(text):
        events.setdefault((result, event), {})[key] = _ESCAPE.sub(r"\1", value)
    requests = frozenset(
        (e["source_ip"], e["http_path"])
        for e in events.values()
        if "source_ip" in e and "http_path" in e
    )
    sources = tuple(dict.fromkeys(s for s in _SOURCE.findall(text) if is_address(s)))
    return HubTest(
        name=log.stem,
        scenarios=tuple(dict.fromkeys(_SCENARIO.findall(text))),
        sources=sources,
        requests=requests,
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def is_address(text: str) -> bool:
    """Whether ``text`` is one IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
