"""Log throughput: lines/s per parser against a plain ``re`` loop, and the syslog receivers.

Every parser gets the same synthetic (seeded) lines of its format; the baseline is the loop a
naive collector writes: one regular expression per line pulling the source address, no events.
The receivers are measured on loopback: a separate sender process blasts UDP datagrams (or one
TCP stream) as fast as it can, and at a fixed 50k messages/s, while this process only drains
the queue; kernel drops come from /proc/net/snmp. Not a test: ``python bench/logs.py``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import re
import socket
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sensors.logs.formats import PARSERS  # noqa: E402
from sensors.logs.parser import LineParser, LogContext  # noqa: E402
from sensors.logs.receiver import Listener, SyslogReceiver  # noqa: E402

USERS = ("root", "admin", "oracle", "test", "ubuntu", "git", "postgres")
URIS = ("/", "/index.php", "/wp-login.php", "/api/v1/items?id=42", "/static/app.js")
BASELINES = {
    "sshd": re.compile(r"Failed \S+ for (?:invalid user )?(\S+) from (\S+) port (\d+)"),
    "access": re.compile(r'(\S+) \S+ \S+ \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+|-)'),
    "netfilter": re.compile(r"SRC=(\S+) DST=(\S+).*?PROTO=(\S+)"),
    "eve": re.compile(r'"src_ip": ?"([^"]+)"'),
    "zeek": re.compile(r"^[\d.]+\t\S+\t(\S+)\t"),
}


def _ip(rng: random.Random) -> str:
    return (
        f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    )


def sshd_line(rng: random.Random, n: int) -> str:
    what = rng.choice(
        ("Failed password for", "Failed password for invalid user", "Accepted password for")
    )
    clock = f"{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}"
    return (
        f"Mar  7 {clock} bastion sshd[{1000 + n % 5000}]: {what} {rng.choice(USERS)} from "
        f"{_ip(rng)} port {rng.randint(1024, 65535)} ssh2"
    )


def access_line(rng: random.Random, n: int) -> str:
    return (
        f'{_ip(rng)} - - [07/Mar/2024:10:{n // 60 % 60:02d}:{n % 60:02d} +0800] "GET '
        f'{rng.choice(URIS)} HTTP/1.1" {rng.choice((200, 200, 404, 301))} {rng.randint(0, 9999)} '
        f'"-" "Mozilla/5.0 (X11; Linux x86_64)"'
    )


def netfilter_line(rng: random.Random, n: int) -> str:
    return (
        f"Mar 11 20:35:{n % 60:02d} fw kernel: [463490.25] DROP IN=eth1 OUT= MAC=00:11:22 "
        f"SRC={_ip(rng)} DST=10.10.2.15 LEN=44 TOS=0x00 TTL=53 ID=1 PROTO=TCP "
        f"SPT={rng.randint(1024, 65535)} DPT={rng.randint(1, 1024)} WINDOW=1024 SYN URGP=0"
    )


def eve_line(rng: random.Random, n: int) -> str:
    return json.dumps(
        {
            "timestamp": f"2024-03-07T10:00:{n % 60:02d}.000000+0800",
            "event_type": "alert",
            "src_ip": _ip(rng),
            "src_port": rng.randint(1024, 65535),
            "dest_ip": "10.10.2.15",
            "dest_port": 22,
            "proto": "TCP",
            "alert": {"signature_id": 2001219, "signature": "ET SCAN SSH", "severity": 2},
        }
    )


def zeek_line(rng: random.Random, n: int) -> str:
    return "\t".join(
        [
            f"{1709805600 + n}.5",
            f"C{n}",
            _ip(rng),
            str(rng.randint(1024, 65535)),
            "10.10.2.15",
            "443",
            "tcp",
            "0.5",
            "SF",
            "10",
            "8",
        ]
    )


ZEEK_HEADER = [
    "#path\tconn",
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\tconn_state"
    "\torig_pkts\tresp_pkts",
]
MAKERS: dict[str, Callable[[random.Random, int], str]] = {
    "sshd": sshd_line,
    "access": access_line,
    "netfilter": netfilter_line,
    "eve": eve_line,
    "zeek": zeek_line,
}


def rate(work: Callable[[], object], count: int) -> float:
    """Lines per CPU second of this process: other load on the machine does not count."""
    started = time.process_time()
    work()
    return count / (time.process_time() - started)


def _parse_all(parser: LineParser, lines: list[str]) -> None:
    for number, line in enumerate(lines, 1):
        parser.parse(line, number)


def _search_all(pattern: re.Pattern[str], lines: list[str]) -> None:
    for line in lines:
        pattern.search(line)


def bench_parsers(count: int) -> None:
    print(f"parsers ({count:,} lines each, one core):")
    for name, make in MAKERS.items():
        rng = random.Random(7)
        lines = [make(rng, n) for n in range(count)]
        parser = PARSERS[name](LogContext(year=2024))
        if name == "zeek":
            for header in ZEEK_HEADER:
                parser.parse(header, None)
        baseline = BASELINES[name]
        ours = rate(partial(_parse_all, parser, lines), count)
        plain = rate(partial(_search_all, baseline, lines), count)
        print(
            f"  {name:<10} {ours:>11,.0f} lines/s   re loop {plain:>11,.0f} lines/s   "
            f"ours/re {ours / plain:.2f}"
        )


def _blast_udp(address: tuple[str, int], count: int, per_second: float) -> None:
    rng = random.Random(3)
    payloads = [("<38>" + sshd_line(rng, n)).encode() for n in range(1000)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        started = time.perf_counter()
        for n in range(count):
            sock.sendto(payloads[n % 1000], address)
            if per_second and n % 500 == 0:  # pace in bursts of 500
                ahead = n / per_second - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)


def _blast_tcp(address: tuple[str, int], count: int) -> None:
    rng = random.Random(3)
    block = b"".join(("<38>" + sshd_line(rng, n) + "\n").encode() for n in range(1000))
    with socket.create_connection(address) as sock:
        for _ in range(count // 1000):
            sock.sendall(block)


def _udp_kernel_drops() -> int:
    for header, values in _snmp_pairs():
        if header[0] == "Udp:":
            return int(values[header.index("RcvbufErrors")])
    return 0


def _snmp_pairs() -> list[tuple[list[str], list[str]]]:
    try:
        rows = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines()]
    except OSError:
        return []
    return list(zip(rows[::2], rows[1::2], strict=False))


def bench_receiver(transport: str, count: int, per_second: float = 0.0) -> None:
    receiver = SyslogReceiver(queue_size=count + 1)
    receiver.start([Listener(transport=transport, host="127.0.0.1", port=0)])
    address = next(iter(receiver.addresses.values()))
    kernel_before = _udp_kernel_drops()
    target = _blast_udp if transport == "udp" else _blast_tcp
    args = (address, count, per_second) if transport == "udp" else (address, count)
    sender = multiprocessing.Process(target=target, args=args)
    started, cpu = time.perf_counter(), time.process_time()
    sender.start()
    got = 0
    while got < count:
        taken = len(receiver.queue.take(4096, wait=2.0))
        if not taken and not sender.is_alive():
            break  # the sender is done and the rest was lost
        got += taken
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu  # this process only: receive thread and consumer
    sender.join()
    receiver.stop(grace=1.0)
    kernel = _udp_kernel_drops() - kernel_before if transport == "udp" else 0
    buffers = list(receiver.udp_buffers.values())
    buffer = f", SO_RCVBUF {buffers[0] >> 10} KiB" if buffers else ""
    pace = f" paced at {per_second:,.0f}/s" if per_second else " (sender flat out)"
    print(
        f"  {transport}{pace}: {got:,} of {count:,} received in {seconds:.2f}s "
        f"= {got / seconds:,.0f} msg/s, {cpu / max(got, 1) * 1e6:.1f} µs CPU each; "
        f"queue drops {receiver.stats.dropped}, "
        f"kernel drops {kernel}, lost {count - got}{buffer}"
    )


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--lines", type=int, default=200_000)
    args.add_argument("--messages", type=int, default=300_000)
    options = args.parse_args()
    bench_parsers(options.lines)
    print("receivers (loopback, separate sender process, receiver only drains the queue):")
    bench_receiver("udp", options.messages, per_second=50_000)
    bench_receiver("udp", options.messages)
    bench_receiver("tcp", options.messages)


if __name__ == "__main__":
    main()
