"""Golden replays: each scenario capture gives exactly its committed alerts and incidents.

Regenerate after a deliberate change with ``pytest tests/test_golden.py --update-golden``
(``make golden``) and review the diff like code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from correlator.storage import AlertQuery, IncidentQuery
from correlator.views import alert_view, incident_view
from nssa.pipeline import replay
from nssa.settings import load_settings
from nssa.stores import open_store

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
CAPTURES = sorted((ROOT / "pcaps").glob("*.pcap"))
SETTINGS = ROOT / "examples" / "sanmenxia.toml"
MASKED = ("id",)  # derived from content hashes: they change whenever a record gains a field


def masked(row: dict[str, Any]) -> dict[str, Any]:
    """A row with volatile fields replaced by a placeholder."""
    return {k: ("<masked>" if k in MASKED else v) for k, v in row.items()}


def lines(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)


def run(capture: Path, tmp_path: Path) -> tuple[str, str]:
    settings = load_settings(SETTINGS)
    store = open_store(f"sqlite:///{tmp_path / 'golden.db'}")
    try:
        replay([capture], settings, store, sensor="golden")
        alerts = [masked(alert_view(a)) for a in store.alerts(AlertQuery(limit=100_000))]
        incidents = [
            masked(incident_view(i, settings.organisation))
            for i in store.incidents(IncidentQuery(limit=100_000))
        ]
    finally:
        store.close()
    key = lambda r: json.dumps(r, sort_keys=True, ensure_ascii=False)  # noqa: E731
    return lines(sorted(alerts, key=key)), lines(sorted(incidents, key=key))


def test_scenario_captures_exist() -> None:
    assert len(CAPTURES) >= 6


@pytest.mark.parametrize("capture", CAPTURES, ids=[c.stem for c in CAPTURES])
def test_golden_replay(capture: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    alerts, incidents = run(capture, tmp_path)
    files = {
        GOLDEN / f"{capture.stem}.alerts.jsonl": alerts,
        GOLDEN / f"{capture.stem}.incidents.jsonl": incidents,
    }
    if request.config.getoption("--update-golden"):
        GOLDEN.mkdir(exist_ok=True)
        for path, text in files.items():
            path.write_text(text, encoding="utf-8")
    for path, text in files.items():
        assert path.exists(), f"{path.name} missing: run make golden"
        assert text == path.read_text(encoding="utf-8"), f"{path.name} differs"
