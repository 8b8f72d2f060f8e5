"""Bulk ingest into Elasticsearch: our store's ``put_events`` against raw ``parallel_bulk``.

Both sides index the same flows (ECS documents, deterministic ids, daily indices, the same
templates) into the same node, each under a fresh index prefix; ours writes in batches as a
sensor daemon does, including the refresh that makes each batch searchable when it returns.
Prints documents/s for each, the ratio (target >= 0.8) and the node's start time and memory.
Not a test: ``python bench/store.py [--docs N] [--url http://127.0.0.1:PORT]``; without --url
or $ES_URL it starts its own node from tools/es-node.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from elasticsearch import helpers  # noqa: E402

from nssa.settings import StoreSettings  # noqa: E402
from nssa.stores.elasticsearch import BULK_CHUNK, BULK_THREADS, ElasticsearchStore  # noqa: E402
from sensors.events import Flow, TcpOutcome, Transport  # noqa: E402
from tools import es_node  # noqa: E402

T0 = 1_717_200_000.0


def make_flows(count: int) -> list[Flow]:
    """``count`` distinct flows over three days, as a busy mirror link would produce."""
    return [
        Flow(
            start=T0 + n * 0.7,
            end=T0 + n * 0.7 + 1.5,
            sensor="cloud-core",
            src_ip=f"10.{21 + n % 8}.{n // 256 % 256}.{n % 256}",
            src_port=1024 + n % 60000,
            dst_ip=f"10.10.{n % 16}.{n % 200 + 1}",
            dst_port=(443, 80, 22, 53, 3389)[n % 5],
            transport=Transport.TCP,
            packets_out=10 + n % 7,
            packets_in=8 + n % 5,
            bytes_out=900 + n % 1000,
            bytes_in=5000 + n % 9000,
            outcome=TcpOutcome.CLOSED,
            flags_out="SAPF",
            flags_in="SAPF",
        )
        for n in range(count)
    ]


def fresh_store(url: str) -> ElasticsearchStore:
    store = ElasticsearchStore(
        url, StoreSettings(index_prefix=f"b{uuid.uuid4().hex[:10]}", replicas=0)
    )
    store.ensure_templates()
    return store


def drop(store: ElasticsearchStore) -> None:
    prefix = store.options.index_prefix
    client = store.client.options(ignore_status=404)
    client.indices.delete(index=f"{prefix}-*")
    client.indices.delete_index_template(name=f"{prefix}-*")
    client.cluster.delete_component_template(name=f"{prefix}-*")
    store.close()


def run_ours(url: str, flows: list[Flow], batch: int) -> float:
    """Seconds for ``put_events`` over the flows in sensor-sized batches."""
    store = fresh_store(url)
    try:
        started = time.perf_counter()
        for start in range(0, len(flows), batch):
            store.put_events(flows[start : start + batch])
        seconds = time.perf_counter() - started
        assert store.count_events() == len(flows)
    finally:
        drop(store)
    return seconds


def run_raw(url: str, flows: list[Flow]) -> float:
    """Seconds for one ``helpers.parallel_bulk`` over the same documents, then one refresh."""
    store = fresh_store(url)
    layout = store.layout

    def actions() -> Iterator[dict[str, Any]]:
        for flow in flows:
            doc = flow.to_ecs()
            doc["event"]["id"] = flow.id
            yield {"_index": layout.events_index(doc["@timestamp"]), "_id": flow.id, "_source": doc}

    try:
        started = time.perf_counter()
        for ok, item in helpers.parallel_bulk(
            store.client, actions(), thread_count=BULK_THREADS, chunk_size=BULK_CHUNK
        ):
            assert ok, item
        store.client.indices.refresh(index=f"{layout.prefix}-*")
        seconds = time.perf_counter() - started
        assert store.count_events() == len(flows)
    finally:
        drop(store)
    return seconds


def measure(url: str, docs: int, batch: int, rounds: int) -> dict[str, Any]:
    flows = make_flows(docs)
    run_ours(url, flows[:2000], batch)  # warm the node's JIT and caches for both sides
    ours, raw = [], []
    for n in range(rounds):
        # Alternate who goes first, so neither always meets a freshly merged node.
        order = ("ours", "raw") if n % 2 == 0 else ("raw", "ours")
        for side in order:
            if side == "ours":
                ours.append(docs / run_ours(url, flows, batch))
            else:
                raw.append(docs / run_raw(url, flows))
    return {
        "docs": docs,
        "batch": batch,
        "rounds": rounds,
        "ours_docs_per_s": round(statistics.median(ours)),
        "parallel_bulk_docs_per_s": round(statistics.median(raw)),
        "ratio": round(statistics.median(ours) / statistics.median(raw), 3),
        "ours_all": [round(x) for x in ours],
        "parallel_bulk_all": [round(x) for x in raw],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000, help="flows per put_events call")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", default=os.environ.get("ES_URL", ""))
    args = parser.parse_args()
    node = None
    figures: dict[str, Any] = {}
    if not args.url:
        toolchain = es_node.find_toolchain()
        if toolchain is None:
            print("no JDK for tools/es-node and no --url", file=sys.stderr)
            return 1
        es_node.build(toolchain)
        node = es_node.start(toolchain, Path(tempfile.mkdtemp(prefix="nssa-bench-es-")))
        args.url = node.url
        figures["node_start_seconds"] = round(node.start_seconds, 2)
        figures["node_rss_mib_at_ready"] = round(node.rss_bytes() / 2**20)
    try:
        figures |= measure(args.url, args.docs, args.batch, args.rounds)
        if node is not None:
            figures["node_peak_rss_mib"] = round(node.peak_rss_bytes() / 2**20)
    finally:
        if node is not None:
            es_node.stop(node.pid)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "store.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    print(
        f"bulk ingest: ours {figures['ours_docs_per_s']:,} docs/s, parallel_bulk "
        f"{figures['parallel_bulk_docs_per_s']:,} docs/s, ratio {figures['ratio']:.2f} (target 0.8)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
