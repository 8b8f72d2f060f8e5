"""Ground truth of the shared log corpus, read for the agreement tests (never copied here).

fail2ban samples annotate each test line with ``# failJSON: {"match": ..., "host": ...}``;
:func:`fail2ban_agreement` compares our parsers' verdicts with those annotations.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from sensors.events import AuthEvent, AuthOutcome, Event
from sensors.logs.addresses import canonical_ip
from sensors.logs.reader import LogStats, parse_lines, read_log

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
LOGS = CORPUS / "logs"
_CONSTRAINT = re.compile(r"^\s*(name|opts\.get\('(\w+)'\))\s*(==|!=)\s*'([^']*)'\s*$")


@dataclass(frozen=True)
class Annotation:
    """One fail2ban test line and what its filter must say about it."""

    number: int
    text: str
    match: bool
    host: str | None


@dataclass
class Agreement:
    """Our verdicts against one annotated file's."""

    annotated: int = 0
    claimed: int = 0  # lines we gave a verdict on (an event, or "no failure" on match=false)
    agreed: int = 0
    missed: list[int] = field(default_factory=list)  # match=true lines we yield nothing for
    disagreed: list[int] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Agreement on the lines we claim."""
        return self.agreed / self.claimed if self.claimed else 1.0


def fail2ban_annotations(path: Path) -> list[Annotation]:
    """The annotated lines of a fail2ban sample, under the most inclusive filter mode."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    options: list[dict[str, object]] = [{}]
    found: list[Annotation] = []
    for index, text in enumerate(lines):
        if text.startswith("# filterOptions:"):
            options = _options(text.split(":", 1)[1])
        elif text.startswith("# failJSON:") and index + 1 < len(lines):
            note = json.loads(text.split(":", 1)[1])
            verdict = _applies(note, _mode(options), path.stem.split("-journal")[0])
            if verdict and _section_enabled(options, path.stem):
                found.append(
                    Annotation(
                        number=index + 2,
                        text=lines[index + 1],
                        match=bool(note.get("match")),
                        host=note.get("host"),
                    )
                )
    return found


def fail2ban_agreement(path: Path, log_format: str, *, auth_only: bool = False) -> Agreement:
    """Compare our parse of ``path`` with its failJSON annotations, line by line.

    We *claim* a line when we yield a non-success event naming a source host (a failed login,
    a refused or failed web request, a firewall drop); for authentication filters
    (``auth_only``) only failed logins are claims. A claim agrees when fail2ban's filter matches
    that line and names the same host; a match=true line we claim nothing on is missed.
    """
    notes = fail2ban_annotations(path)
    events = _events_by_line(path, log_format)
    result = Agreement(annotated=len(notes))
    for note in notes:
        found = events.get(note.number, ())
        claims = {h for e in found if not auth_only or isinstance(e, AuthEvent) for h in _claims(e)}
        if not claims:
            if note.match:
                result.missed.append(note.number)
            continue
        result.claimed += 1
        if _agrees(note, claims, auth_only):
            result.agreed += 1
        else:
            result.disagreed.append(note.number)
    return result


def _agrees(note: Annotation, claims: set[str], auth_only: bool) -> bool:
    """Auth filters: the line must be a failure of that host. Web filters decide by path or
    user agent (a detector's job), so there the parser agrees when it names the same host."""
    if note.host is None:
        return note.match
    named = _host(note.host) in claims
    return named and (note.match or not auth_only)


def _claims(event: Event) -> set[str]:
    """Hosts an event names: any request or error, but only *failed* logins."""
    if isinstance(event, AuthEvent) and event.outcome is not AuthOutcome.FAILURE:
        return set()
    return _names(event)


def _names(event: Event) -> set[str]:
    names = {getattr(event, "src_ip", None), getattr(event, "src_domain", None)}
    return {_host(n) for n in names if n}


def _host(text: str) -> str:
    return canonical_ip(text) or text


def _events_by_line(path: Path, log_format: str) -> dict[int, tuple[Event, ...]]:
    return {p.number: p.events for p in read_log(path, log_format)}


def _options(text: str) -> list[dict[str, object]]:
    value = json.loads(text)
    return value if isinstance(value, list) else [value]


def _mode(options: list[dict[str, object]]) -> str:
    """The broadest mode a section is tested in (aggressive = normal + ddos + extra)."""
    modes = [str(o.get("mode", "normal")) for o in options]
    return "aggressive" if "aggressive" in modes else modes[0]


def _section_enabled(options: list[dict[str, object]], stem: str) -> bool:
    conditions = [str(o["test.condition"]) for o in options if "test.condition" in o]
    return all(_evaluate(c.replace("==", " == "), "normal", stem) for c in conditions)


def _applies(note: dict[str, object], mode: str, name: str) -> bool:
    constraint = note.get("constraint")
    return constraint is None or _evaluate(str(constraint), mode, name)


def _evaluate(constraint: str, mode: str, name: str) -> bool:
    """fail2ban's simple constraints: ``name == 'x'``, ``opts.get('mode') != 'y'``."""
    found = _CONSTRAINT.match(constraint)
    if found is None:
        return False  # a constraint we cannot read: leave the line out
    subject, _key, operator, value = found.groups()
    actual = name if subject == "name" else mode
    return (actual == value) == (operator == "==")


def manifest() -> list[dict[str, str]]:
    """The corpus manifest rows."""
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def psad_attackers(row: dict[str, str]) -> set[str]:
    """The scanner addresses a psad row's ground truth names (``scanner SRC a, b;``)."""
    found = re.search(r"scanner SRC ([^;]+);", row["ground_truth"])
    names = found[1].split(",") if found else []
    return {canonical_ip(n.strip()) or n.strip() for n in names}


def crowdsec_sources(test: Path) -> set[str]:
    """Source IPs a CrowdSec scenario.assert expects (``"1.2.3.4" in ...GetSources()``)."""
    text = (test / "scenario.assert").read_text(encoding="utf-8")
    return set(re.findall(r'"([^"]+)" in results\[\d+\]\.Overflow\.GetSources\(\)', text))


def parse_text(text: str, parser_name: str) -> tuple[list[Event], LogStats]:
    """Parse literal lines with a named parser (for small tests)."""
    from sensors.logs.formats import PARSERS
    from sensors.logs.parser import LogContext

    stats = LogStats()
    parser = PARSERS[parser_name](LogContext(year=2024, origin="test.log"))
    numbered = enumerate(text.splitlines(), 1)
    parsed = parse_lines(parser, numbered, stats)
    return [e for line in parsed for e in line.events], stats
