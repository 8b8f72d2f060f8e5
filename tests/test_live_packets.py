"""The live sensor keeps rotating capture files, registers them, and alerts' packets come out.

Frames go through a veth pair in our own network namespace (``tests.test_live``'s fixture).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

from correlator.alert_packets import packet_source, write_packets
from correlator.storage import AlertQuery
from nssa.stores import open_store
from sensors.capturefiles import CaptureQuery, FileCheck, check
from tests.test_live import (
    CAPTURE,
    ROOT,
    veth,  # noqa: F401 (the fixture, shared)
)

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def sensor(config: Path, url: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "nssa", "sensor", "--link", "test-link"]
    return subprocess.Popen(
        [*command, "--config", str(config), "--store", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def test_live_capture_files_are_registered_and_cut(
    tmp_path: Path,
    veth: tuple[str, str, str],  # noqa: F811 (the fixture imported above)
) -> None:
    ns, inside, outside = veth
    sender = ("ip", "netns", "exec", ns, sys.executable, "-m", "tests.replay_sender")
    folder = tmp_path / "captures"
    config = tmp_path / "nssa.toml"
    config.write_text(
        f'[[sensors]]\nname = "test-link"\ninterface = "{outside}"\ncapture_dir = "{folder}"\n'
        "capture_file_mb = 1\ncapture_total_mb = 64\n"
    )
    url = f"sqlite:///{tmp_path / 'live.db'}"
    daemon = sensor(config, url)
    try:
        assert daemon.stdout is not None
        assert "capturing on" in daemon.stdout.readline()
        subprocess.run(
            [*sender, str(CAPTURE), inside],
            check=True,
            capture_output=True,
            env=ENV,
            cwd=ROOT,
        )
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
    finally:
        daemon.kill()
    assert daemon.returncode == 0, err
    store = open_store(url)
    try:
        files = store.captures(CaptureQuery(sensor="test-link"))
        assert files and all(check(f) is FileCheck.OK for f in files)
        assert {Path(f.path).parent for f in files} == {folder}
        alerts = [a for a in store.alerts(AlertQuery()) if a.evidence]
        assert alerts
        for alert in alerts:
            source = packet_source(store, alert)
            assert source.available, alert.rule
            found = write_packets(source, io.BytesIO())
            assert found.packets == sum(f.packets_out + f.packets_in for f in source.flows)
    finally:
        store.close()


def test_a_capture_dir_that_cannot_be_written_fails_at_start_naming_the_key(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    config = tmp_path / "nssa.toml"
    config.write_text(
        f'[[sensors]]\nname = "test-link"\ninterface = "lo"\ncapture_dir = "{blocker}/sub"\n'
    )
    daemon = sensor(config, f"sqlite:///{tmp_path / 'x.db'}")
    _, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 2
    assert "sensors[0].capture_dir" in err and "cannot write there" in err


def test_capture_settings_are_checked_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "nssa.toml"
    config.write_text(
        '[[sensors]]\nname = "l"\ninterface = "lo"\ncapture_dir = "/tmp/x"\n'
        "capture_file_mb = 100\ncapture_total_mb = 150\n"
    )
    checked = subprocess.run(
        [sys.executable, "-m", "nssa", "config", "check", str(config)],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    assert checked.returncode == 2
    assert "sensors[0].capture_total_mb" in checked.stderr
    config.write_text('[[sensors]]\nname = "l"\ninterface = "lo"\ncapture_dir = "rel"\n')
    relative = subprocess.run(
        [sys.executable, "-m", "nssa", "config", "check", str(config)],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    assert relative.returncode == 2 and "sensors[0].capture_dir" in relative.stderr
