"""Synthetic host traffic for the anomaly tests: ordinary clients, and one that fans out."""

from __future__ import annotations

import random

from sensors.events import Flow, TcpOutcome
from tests.conftest import T0, build_flow

SERVERS = tuple(f"10.10.{n}.10" for n in range(8))
CLIENTS = tuple(f"10.21.{n // 10}.{n % 10 + 20}" for n in range(20))


def ordinary(seed: int, windows: range, *, window: float = 300.0) -> list[Flow]:
    """Each client visits a few of the cloud's portals every window, like a working desktop."""
    rng = random.Random(seed)
    flows = []
    for w in windows:
        for n, client in enumerate(CLIENTS):
            favourite = SERVERS[n % len(SERVERS)]
            for _ in range(rng.randint(2, 8)):
                server = favourite if rng.random() < 0.7 else rng.choice(SERVERS)
                start = T0 + w * window + rng.uniform(0, window - 10)
                flows.append(
                    build_flow(
                        start=start,
                        end=start + rng.uniform(0.5, 5),
                        src_ip=client,
                        src_port=rng.randint(40000, 60000),
                        dst_ip=server,
                        dst_port=443 if rng.random() < 0.9 else 80,
                        bytes_out=rng.randint(500, 3000),
                        bytes_in=rng.randint(2000, 60000),
                        packets_out=rng.randint(6, 20),
                        packets_in=rng.randint(6, 60),
                    )
                )
    return sorted(flows, key=lambda f: f.end)


def fan_out(host: str, window: int, *, peers: int = 60, ports: int = 40) -> list[Flow]:
    """One window in which ``host`` knocks on many hosts and ports, mostly refused."""
    start = T0 + window * 300.0
    return [
        build_flow(
            start=start + i * 0.5,
            end=start + i * 0.5 + 0.01,
            src_ip=host,
            dst_ip=f"10.10.{i % peers // 250}.{i % peers % 250 + 1}",
            dst_port=1000 + i % ports,
            bytes_out=60,
            bytes_in=0,
            packets_out=1,
            packets_in=1,
            outcome=TcpOutcome.REJECTED,
        )
        for i in range(max(peers, ports) * 2)
    ]
