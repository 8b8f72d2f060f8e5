"""Live capture for real: frames sent through a veth pair in our own network namespace.

The sensor daemon captures one end while a sender in the namespace replays a capture into the
other; the daemon's flows must equal the offline replay of the same capture.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from correlator.storage import Store
from nssa.pipeline import capture_flows
from nssa.stores import open_store
from sensors.capture import CaptureStats
from sensors.events import Flow
from sensors.flows import FlowTable

ROOT = Path(__file__).resolve().parents[1]
CAPTURE = ROOT / "pcaps" / "recon_scan.pcap"


def run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


@pytest.fixture
def veth() -> Iterator[tuple[str, str, str]]:
    """A namespace holding one end of a veth pair; yields (namespace, inside, outside)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        if os.environ.get("CI"):
            pytest.fail("live capture tests need root and iproute2 in CI")
        pytest.skip("needs root and iproute2")
    tag = f"{os.getpid() % 100000}"
    ns, inside, outside = f"nssa{tag}", f"nsa{tag}", f"nsb{tag}"
    run("ip", "netns", "add", ns)
    try:
        run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        run("ip", "link", "set", inside, "netns", ns)
        # No IPv6 on the pair: the kernel's own neighbour discovery would add flows.
        run("sysctl", "-qw", f"net.ipv6.conf.{outside}.disable_ipv6=1")
        run("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{inside}.disable_ipv6=1")
        run("ip", "link", "set", outside, "up")
        run("ip", "netns", "exec", ns, "ip", "link", "set", inside, "up")
        yield ns, inside, outside
    finally:
        subprocess.run(["ip", "link", "del", outside], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def shape(flows: list[Flow]) -> Counter[tuple[object, ...]]:
    return Counter(
        (
            f.src_ip,
            f.src_port,
            f.dst_ip,
            f.dst_port,
            f.transport,
            f.packets_out,
            f.packets_in,
            f.bytes_out,
            f.bytes_in,
            f.outcome,
        )
        for f in flows
    )


def stored_flows(store: Store) -> list[Flow]:
    from nssa.stores.sqlite import SqliteStore

    assert isinstance(store, SqliteStore)
    return [e for e in store.events(limit=1_000_000) if isinstance(e, Flow)]


def test_daemon_flows_match_offline_replay(tmp_path: Path, veth: tuple[str, str, str]) -> None:
    ns, inside, outside = veth
    config = tmp_path / "nssa.toml"
    config.write_text(f'[[sensors]]\nname = "test-link"\ninterface = "{outside}"\n')
    url = f"sqlite:///{tmp_path / 'live.db'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    daemon = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nssa",
            "sensor",
            "--link",
            "test-link",
            "--config",
            str(config),
            "--store",
            url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert daemon.stdout is not None
        assert "capturing on" in daemon.stdout.readline()
        sent = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                ns,
                sys.executable,
                "-m",
                "tests.replay_sender",
                str(CAPTURE),
                inside,
            ],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=60)
    finally:
        daemon.kill()
    assert daemon.returncode == 0, err
    assert f"stopped: {sent.stdout.strip()} packets, 0 kernel drops" in out
    offline = [f for b in capture_flows(CAPTURE, FlowTable("x"), CaptureStats()) for f in b]
    store = open_store(url)
    try:
        assert shape(stored_flows(store)) == shape(offline)
    finally:
        store.close()


def test_unknown_link_and_bad_filter_fail_at_start(tmp_path: Path) -> None:
    config = tmp_path / "nssa.toml"
    config.write_text('[[sensors]]\nname = "l"\ninterface = "lo"\nbpf = "tcp port"\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = [
        sys.executable,
        "-m",
        "nssa",
        "sensor",
        "--config",
        str(config),
        "--store",
        f"sqlite:///{tmp_path / 'x.db'}",
    ]
    missing = subprocess.run(
        [*base, "--link", "nope"], capture_output=True, text=True, env=env, check=False
    )
    assert missing.returncode == 2 and "no link named 'nope'" in missing.stderr
    if os.geteuid() == 0:
        bad = subprocess.run(
            [*base, "--link", "l"], capture_output=True, text=True, env=env, check=False
        )
        assert bad.returncode == 2 and "sensors[0].bpf" in bad.stderr
