"""Live capture rate: the sensor daemon on a veth pair fed at a fixed rate from a namespace.

For each offered rate the sender (in our own network namespace) replays the mixed benchmark
capture for ``--seconds``; the daemon captures, builds flows, runs the detectors and writes to
a SQLite store. Prints packets received, kernel drops and the achieved rate. Needs root.
``python bench/live.py --rates 50000,100000,200000 --seconds 30``
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.mixedtraffic import write_mixed  # noqa: E402

SENDER = """
import socket, sys, time
from pathlib import Path
from sensors.capture import read_batches
frames = []
for b in read_batches(Path(sys.argv[1])):
    d = b.data.tobytes()
    frames += [d[o:o + c] for o, c in zip(b.offset.tolist(), b.caplen.tolist())]
rate, seconds = float(sys.argv[3]), float(sys.argv[4])
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((sys.argv[2], 0))
send, sent, start, burst = sock.send, 0, time.perf_counter(), 256
n = len(frames)
while True:
    elapsed = time.perf_counter() - start
    if elapsed >= seconds:
        break
    due = int(elapsed * rate) - sent
    if due <= 0:
        time.sleep(0.0005)  # pacing the sender, not synchronising a test
        continue
    for _ in range(min(due, burst)):
        send(frames[sent % n])
        sent += 1
print(sent, time.perf_counter() - start)
"""


def sh(*args: str) -> None:
    """Run a setup command, failing loudly."""
    subprocess.run(args, check=True, capture_output=True)


def veth(tag: str) -> tuple[str, str, str]:
    """Create namespace + veth pair; return (namespace, inside, outside)."""
    ns, inside, outside = f"nssab{tag}", f"nsba{tag}", f"nsbb{tag}"
    sh("ip", "netns", "add", ns)
    sh("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
    sh("ip", "link", "set", inside, "netns", ns)
    sh("sysctl", "-qw", f"net.ipv6.conf.{outside}.disable_ipv6=1")
    sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{inside}.disable_ipv6=1")
    sh("ip", "link", "set", outside, "up")
    sh("ip", "netns", "exec", ns, "ip", "link", "set", inside, "up")
    return ns, inside, outside


def one_rate(capture: Path, rate: int, seconds: float, link: tuple[str, str, str]) -> str:
    """Offer ``rate`` packets/s for ``seconds``; return a result line."""
    ns, inside, outside = link
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "nssa.toml"
        config.write_text(f'[[sensors]]\nname = "bench"\ninterface = "{outside}"\n')
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        daemon = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nssa",
                "sensor",
                "--link",
                "bench",
                "--config",
                str(config),
                "--store",
                f"sqlite:///{tmp}/live.db",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert daemon.stdout is not None and "capturing" in daemon.stdout.readline()
        sender = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                ns,
                sys.executable,
                "-c",
                SENDER,
                str(capture),
                inside,
                str(rate),
                str(seconds),
            ],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        )
        sent, took = sender.stdout.split()
        daemon.send_signal(signal.SIGTERM)
        out, _ = daemon.communicate(timeout=600)
    return (
        f"offered {rate:>9,} pps: sent {int(sent):>10,} in {float(took):5.1f}s "
        f"({int(sent) / float(took):>9,.0f} pps) -> {out.strip().splitlines()[-1]}"
    )


def main() -> None:
    """Run every requested rate and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="50000,100000,200000,400000")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--packets", type=int, default=200_000)
    args = parser.parse_args()
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    capture = out / f"mixed-{args.packets}.pcap"
    if not capture.exists():
        write_mixed(
            capture, out / f"mixed-{args.packets}.pcapng", args.packets, random.Random(2026)
        )
    link = veth(str(os.getpid() % 10000))
    try:
        for rate in (int(r) for r in args.rates.split(",")):
            started = time.perf_counter()
            print(one_rate(capture, rate, args.seconds, link), flush=True)
            print(f"  (run took {time.perf_counter() - started:.1f}s)", flush=True)
    finally:
        subprocess.run(["ip", "link", "del", link[2]], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", link[0]], capture_output=True, check=False)


if __name__ == "__main__":
    main()
