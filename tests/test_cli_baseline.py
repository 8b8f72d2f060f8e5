"""``nssa baseline`` end to end: train from a capture or the store, then replay with the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import ROOT, lines, nssa

CITY = ROOT / "examples" / "sanmenxia.toml"
BACKGROUND = ROOT / "pcaps" / "background.pcap"  # the scenario's normal day, no attacks
TUNNEL = ROOT / "pcaps" / "dns_tunnel.pcap"
TUNNEL_CLIENT = "10.24.1.50"  # pcaps/README.md: the tunnelling desktop


def _version(out: str) -> str:
    return out.split(" version ")[1].split(maxsplit=1)[0]


def test_train_from_capture_and_store_then_replay_with_the_model(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'nssa.db'}"
    nssa("replay", str(BACKGROUND), "--config", str(CITY), "--store", store, cwd=tmp_path)
    from_capture = nssa(
        "baseline", str(BACKGROUND), "--config", str(CITY), "--out", "cap.model", cwd=tmp_path
    ).stdout
    from_store = nssa(
        "baseline",
        "--since=2026-11-02T00:00:00Z",
        "--until=2026-11-03T00:00:00Z",
        "--store",
        store,
        "--config",
        str(CITY),
        "--out",
        str(tmp_path / "store.model"),
        cwd=tmp_path,
    ).stdout
    assert "rows 671  hosts 166  windows 108  models 10" in from_capture
    # The stored flows are the capture's flows: the same rows give the same model.
    assert _version(from_store) == _version(from_capture)

    settings = tmp_path / "city.toml"
    model = tmp_path / "cap.model"
    settings.write_text(CITY.read_text() + f'\n[anomaly]\nmodel = "{model}"\n')
    nssa("replay", str(TUNNEL), "--config", str(settings), "--store", store, cwd=tmp_path)
    alerts = lines(nssa("alerts", "--json", "--store", store, cwd=tmp_path).stdout)
    anomalies = [a for a in alerts if a["detector"] == "anomaly"]
    assert anomalies and {a["source_ip"] for a in anomalies} == {TUNNEL_CLIENT}


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ((), "give captures to train from, or --since and --until"),
        (("--since=2026-11-02", "--until=2026-11-01"), "--until must be after --since"),
        ((str(BACKGROUND), "--since=2026-11-02"), "not both"),
    ],
)
def test_usage_errors_say_what_to_give(tmp_path: Path, args: tuple[str, ...], problem: str) -> None:
    done = nssa("baseline", *args, "--out", "m.model", cwd=tmp_path, check=False)
    assert done.returncode == 2 and problem in done.stderr


def test_a_damaged_model_stops_replay_with_the_reason(tmp_path: Path) -> None:
    model = tmp_path / "bad.model"
    model.write_bytes(b'{"format": "nssa-anomaly-baseline", "schema_version": 0}\nxx')
    settings = tmp_path / "city.toml"
    settings.write_text(f'[anomaly]\nmodel = "{model}"\n')
    done = nssa("replay", str(TUNNEL), "--config", str(settings), cwd=tmp_path, check=False)
    assert done.returncode == 2 and "feature schema version 0 does not match" in done.stderr
