"""Live capture rate: the sensor daemon on a veth pair fed at a fixed rate from a namespace.

For each offered rate the sender (in our own network namespace) replays the mixed benchmark
capture for ``--seconds``; the daemon captures, builds flows, runs the detectors and writes to
a SQLite store. Prints packets received, kernel drops, the achieved rate, the daemon's CPU use
while traffic flowed (from /proc, all its threads and worker processes) and the load average,
since the benchmark machine is shared. ``--no-detect`` runs the sensor without detectors;
``--profile DIR`` writes a cProfile (CPU time) of the daemon per rate. Needs root.
``python bench/live.py --rates 50000,100000,200000 --seconds 30``
"""

from __future__ import annotations

import argparse
import os
import random
import resource
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
import ctypes, socket, sys, time
from pathlib import Path
from sensors.capture import read_batches
frames = []
for b in read_batches(Path(sys.argv[1])):
    d = b.data.tobytes()
    frames += [d[o:o + c] for o, c in zip(b.offset.tolist(), b.caplen.tolist())]
rate, seconds = float(sys.argv[3]), float(sys.argv[4])
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((sys.argv[2], 0))
# sendmmsg: up to BURST frames per system call, so the sender is not the limit (one send()
# per frame topped out near 80k packets/s on the shared machine).
class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
class MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(IoVec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]
class MMsgHdr(ctypes.Structure):
    _fields_ = [("hdr", MsgHdr), ("len", ctypes.c_uint)]
n = len(frames)
blob = ctypes.create_string_buffer(b"".join(frames))
iovs, msgs = (IoVec * n)(), (MMsgHdr * n)()
at = ctypes.addressof(blob)
for i, frame in enumerate(frames):
    iovs[i].base, iovs[i].len = at, len(frame)
    at += len(frame)
    msgs[i].hdr.iov, msgs[i].hdr.iovlen = ctypes.pointer(iovs[i]), 1
libc = ctypes.CDLL(None, use_errno=True)
libc.sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
fd, base, size, BURST = sock.fileno(), ctypes.addressof(msgs), ctypes.sizeof(MMsgHdr), 1024
sent, start = 0, time.perf_counter()
while True:
    elapsed = time.perf_counter() - start
    if elapsed >= seconds:
        break
    due = int(elapsed * rate) - sent
    if due <= 0:
        time.sleep(0.0005)  # pacing the sender, not synchronising a test
        continue
    first = sent % n
    count = min(due, BURST, n - first)
    done = libc.sendmmsg(fd, base + first * size, count, 0)
    if done < 0:
        err = ctypes.get_errno()
        if err in (11, 105):  # EAGAIN, ENOBUFS: the veth queue is full; try again
            continue
        raise OSError(err, "sendmmsg")
    sent += done
print(sent, time.perf_counter() - start)
"""


PROFILED = """
import cProfile, runpy, sys, time
# CPU time of the main thread: the capture loop (workers = 0) or the detectors' loop.
profile = cProfile.Profile(time.thread_time)
profile.enable()
try:
    runpy.run_module("nssa", run_name="__main__")
except SystemExit:
    pass
finally:
    profile.disable()
    profile.dump_stats({out!r})
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


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User + system CPU of a process (threads included) and of its live worker processes."""
    ticks = os.sysconf("SC_CLK_TCK")
    own, workers = 0.0, 0.0
    for child in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        # utime and stime: fields 14 and 15 of stat(5), counted from after the name.
        used = sum(int(f) for f in fields[11:13]) / ticks
        own, workers = (own + used, workers) if child == pid else (own, workers + used)
    return own, workers


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(c) for c in task.read_text().split()]
    return found


def one_rate(
    capture: Path,
    rate: int,
    seconds: float,
    link: tuple[str, str, str],
    options: argparse.Namespace,
) -> str:
    """Offer ``rate`` packets/s for ``seconds``; return a result line."""
    ns, inside, outside = link
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "nssa.toml"
        config.write_text(
            f'[[sensors]]\nname = "bench"\ninterface = "{outside}"\n{options.sensor_extra}\n'
        )
        env = {**os.environ, "PYTHONPATH": options.code}
        if options.profile:
            profile_out = Path(options.profile) / f"sensor-{rate}.prof"
            command = [sys.executable, "-c", PROFILED.format(out=str(profile_out))]
        else:
            command = [sys.executable, "-m", "nssa"]
        daemon = subprocess.Popen(
            [
                *command,
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
            cwd=options.code,  # python -m puts the working folder first on the path
        )
        assert daemon.stdout is not None and "capturing" in daemon.stdout.readline()
        cpu_before, load_before = cpu_seconds(daemon.pid), os.getloadavg()[0]
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
        own, workers = cpu_seconds(daemon.pid)
        own, workers = own - cpu_before[0], workers - cpu_before[1]
        load = os.getloadavg()[0]
        stopping = time.perf_counter()
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=600)
        drained = time.perf_counter() - stopping
        # The daemon's whole life, its worker processes included (it reaped them).
        done = resource.getrusage(resource.RUSAGE_CHILDREN)
        life = done.ru_utime + done.ru_stime - reaped.ru_utime - reaped.ru_stime
    if options.verbose:
        print(err, file=sys.stderr)
    return (
        f"offered {rate:>9,} pps: sent {int(sent):>10,} in {float(took):5.1f}s "
        f"({int(sent) / float(took):>9,.0f} pps) -> {out.strip().splitlines()[-1]}\n"
        f"  CPU while sending: daemon {100 * own / float(took):.0f}%, capture workers "
        f"{100 * workers / float(took):.0f}%; stop took {drained:.1f}s; "
        f"load average {load_before:.2f} before, {load:.2f} after; {life:.1f} CPU s in all, "
        f"{1e6 * life / max(1, _packets(out)):.0f} us per packet"
    )


def _packets(report: str) -> int:
    """Packets the daemon says it read, from its last line."""
    return int(report.strip().splitlines()[-1].split()[1])


def main() -> None:
    """Run every requested rate and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="50000,100000,200000,400000")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--packets", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=1, help="Runs per rate.")
    parser.add_argument("--no-detect", action="store_true", help="Sensor without detectors.")
    parser.add_argument("--sensor-extra", default="", help="More [[sensors]] settings (TOML).")
    parser.add_argument("--profile", help="Folder for a cProfile of the daemon per rate.")
    parser.add_argument("--verbose", action="store_true", help="Print the daemon's log.")
    parser.add_argument("--code", default=str(ROOT), help="Run the daemon from this tree.")
    args = parser.parse_args()
    if args.no_detect:
        args.sensor_extra += "\ndetect = false"
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
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
            for _ in range(args.repeat):
                print(one_rate(capture, rate, args.seconds, link, args), flush=True)
    finally:
        subprocess.run(["ip", "link", "del", link[2]], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", link[0]], capture_output=True, check=False)


if __name__ == "__main__":
    main()
