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
from sensors.capture import CaptureStats, PacketBatch
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
            f.vlan,
        )
        for f in flows
    )


def stored_flows(store: Store) -> list[Flow]:
    from nssa.stores.sqlite import SqliteStore

    assert isinstance(store, SqliteStore)
    return [e for e in store.events(limit=1_000_000) if isinstance(e, Flow)]


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_daemon_flows_match_offline_replay(
    tmp_path: Path, veth: tuple[str, str, str], workers: int
) -> None:
    """In the daemon's process, in one capture worker, and fanned out over two."""
    ns, inside, outside = veth
    config = tmp_path / "nssa.toml"
    config.write_text(
        f'[[sensors]]\nname = "test-link"\ninterface = "{outside}"\nworkers = {workers}\n'
    )
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
        start_new_session=True,
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
        if workers == 2:  # as systemd stops a service: every process of it at once
            os.killpg(daemon.pid, signal.SIGTERM)
        else:  # the daemon alone: it tells its workers to drain
            daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=60)
    finally:
        daemon.kill()
    assert daemon.returncode == 0, err
    assert f"stopped: {sent.stdout.strip()} packets, 0 kernel drops" in out
    assert "0 queue drops, 0 spooled" in out
    # The counters reach the log too, the last line after the final flush.
    last = [line for line in err.splitlines() if "nssa.sensor packets" in line][-1]
    assert f"packets {sent.stdout.strip()} " in last and "kernel drops 0," in last
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


def test_ready_ring_blocks_are_joined_into_one_batch_in_order(
    veth: tuple[str, str, str],
) -> None:
    """Frames sent while nobody reads wait in several small blocks; one read takes them all."""
    from sensors.capture import read_batches
    from sensors.live import RingCapture, RingConfig

    ns, inside, outside = veth
    config = RingConfig(block_size=1 << 16, block_count=64, block_timeout_ms=10)
    capture = RingCapture(outside, config)
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        sender = [sys.executable, "-m", "tests.replay_sender", str(CAPTURE), inside]
        sent = subprocess.run(
            ["ip", "netns", "exec", ns, *sender],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )
        batches: list[PacketBatch] = []
        while sum(len(b) for b in batches) < int(sent.stdout):
            # The last block is handed over when its timeout passes: wait on the socket.
            assert capture.poller.poll(5000), "the ring never handed the last block over"
            batch = capture.read_ready()
            if batch is not None:
                batches.append(batch)
    finally:
        capture.close()
    frames = [
        b.data[o : o + c].tobytes()
        for b in batches
        for o, c in zip(b.offset.tolist(), b.caplen.tolist(), strict=True)
    ]
    expected = [
        b.data[o : o + c].tobytes()
        for b in read_batches(CAPTURE)
        for o, c in zip(b.offset.tolist(), b.caplen.tolist(), strict=True)
    ]
    assert frames == expected
    assert len(batches[0].data) > config.block_size  # the first read joined several blocks
    assert batches[0].vlan is not None
    assert (batches[0].vlan == -1).all()  # untagged frames carry no VLAN id
