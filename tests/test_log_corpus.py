"""Our log parsers against the real logs of ../shared/corpus (skipped when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensors.events import Event
from sensors.logs.reader import LogStats, read_log
from tests.logcorpus import (
    CORPUS,
    LOGS,
    Agreement,
    crowdsec_sources,
    fail2ban_agreement,
    manifest,
    psad_attackers,
)

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is absent"),
]

# fail2ban samples whose filters we cover: (sample, our format, authentication filter?)
FAIL2BAN = [
    ("sshd", "sshd", True),
    ("sshd-journal", "sshd", True),
    ("pam-generic", "sshd", True),
    ("apache-auth", "weberror", True),
    ("nginx-http-auth", "weberror", True),
    ("apache-badbots", "access", False),
    ("apache-botsearch", "weberror", False),
    ("nginx-botsearch", "syslog", False),
    ("nginx-bad-request", "access", False),
    ("nginx-forbidden", "weberror", False),
    ("nginx-limit-req", "weberror", False),
    ("apache-fakegooglebot", "access", False),
    ("apache-nohome", "weberror", False),
    ("apache-noscript", "weberror", False),
    ("apache-overflows", "weberror", False),
    ("apache-shellshock", "weberror", False),
    ("apache-pass", "access", False),
    ("apache-modsecurity", "weberror", False),
]
WEB_LOG_TYPES = ("log_type: apache2", "log_type: nginx\n")


def _agreement(stem: str, log_format: str, auth: bool) -> Agreement:
    return fail2ban_agreement(LOGS / "fail2ban" / f"{stem}.log", log_format, auth_only=auth)


@pytest.mark.parametrize(("stem", "log_format", "auth"), FAIL2BAN)
def test_fail2ban_sample_agreement(stem: str, log_format: str, auth: bool) -> None:
    result = _agreement(stem, log_format, auth)
    print(f"{stem}: {result.agreed}/{result.claimed} claimed lines agree ({result.ratio:.1%}),")
    print(f"  {result.annotated} annotated, missed {result.missed}, disagreed {result.disagreed}")
    assert result.claimed > 0 and result.ratio >= 0.98


def test_fail2ban_agreement_over_all_covered_samples_is_at_least_99_percent() -> None:
    results = [_agreement(*case) for case in FAIL2BAN]
    agreed, claimed = sum(r.agreed for r in results), sum(r.claimed for r in results)
    print(f"fail2ban: {agreed}/{claimed} claimed lines agree ({agreed / claimed:.2%})")
    assert agreed / claimed >= 0.99


def _crowdsec_cases() -> list[tuple[str, Path]]:
    if not CORPUS.exists():
        return []
    rows = {r["source_path"]: r["path"] for r in manifest() if r["source_repo"].endswith("hub")}
    cases = []
    for test in sorted((CORPUS / "groundtruth" / "crowdsec-hub").iterdir()):
        config = (test / "config.yaml").read_text(encoding="utf-8")
        log_file = config.split("log_file:", 1)[1].split()[0]
        path = rows.get(f".tests/{test.name}/{log_file}")
        if path and (test / "scenario.assert").exists() and any(t in config for t in WEB_LOG_TYPES):
            cases.append((test.name, CORPUS / path))
    return cases


def _sources(path: Path, log_format: str = "auto") -> set[str]:
    events: list[Event] = [e for p in read_log(path, log_format) for e in p.events]
    return {ip for e in events if (ip := getattr(e, "src_ip", None))}


@pytest.mark.parametrize(("test", "path"), _crowdsec_cases())
def test_crowdsec_attacker_ips_are_extracted(test: str, path: Path) -> None:
    expected = crowdsec_sources(CORPUS / "groundtruth" / "crowdsec-hub" / test)
    assert expected <= _sources(path)


def _psad_rows() -> list[dict[str, str]]:
    if not CORPUS.exists():
        return []
    return [r for r in manifest() if "/psad_iptables_" in r["path"]]


@pytest.mark.parametrize("row", _psad_rows(), ids=lambda r: Path(r["path"]).stem)
def test_psad_attacker_ips_are_extracted(row: dict[str, str]) -> None:
    stats = LogStats()
    sources = {e.src_ip for p in read_log(CORPUS / row["path"], stats=stats) for e in p.events}
    assert psad_attackers(row) <= sources and stats.unparsed == 0


def _ids_logs() -> list[Path]:
    if not CORPUS.exists():
        return []
    zeek = [p for p in (LOGS / "zeek").rglob("*") if p.is_file() and p.suffix != ".config"]
    return sorted(zeek) + sorted((LOGS / "suricata").iterdir())


@pytest.mark.parametrize("path", _ids_logs(), ids=lambda p: p.name)
def test_zeek_and_suricata_samples_parse_without_errors(path: Path) -> None:
    stats = LogStats()
    events = [e for p in read_log(path, stats=stats) for e in p.events]
    # One corpus row is genuinely broken (a space where a tab belongs): allow a stray line.
    assert stats.unparsed <= 1 and stats.lines > 0
    assert events or stats.quiet  # modelled logs give events; others are recognised
