"""A fresh Elasticsearch store for a benchmark: on ``--url`` or a node of our own, dropped after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nssa.settings import StoreSettings
from nssa.stores.elasticsearch import ElasticsearchStore
from tools import es_node


@contextmanager
def fresh_store(work: Path, url: str) -> Iterator[tuple[ElasticsearchStore, dict[str, Any]]]:
    """A store in a fresh index prefix (on ``url`` or a node of our own), dropped afterwards."""
    info: dict[str, Any] = {}
    node = None
    if not url:
        toolchain = es_node.find_toolchain()
        if toolchain is None:
            raise SystemExit("no JDK for tools/es-node and no --url")
        es_node.build(toolchain)
        node = es_node.start(toolchain, work / "es")
        url = node.url
        info["node_start_s"] = round(node.start_seconds, 1)
    options = StoreSettings(index_prefix=f"b{uuid.uuid4().hex[:10]}", replicas=0)
    es = ElasticsearchStore(url, options)
    try:
        yield es, info
        if node is not None:
            info["node_peak_rss_mib"] = round(node.peak_rss_bytes() / 2**20)
    finally:
        client = es.client.options(ignore_status=404)
        client.indices.delete(index=f"{options.index_prefix}-*")
        client.indices.delete_index_template(name=f"{options.index_prefix}-*")
        client.cluster.delete_component_template(name=f"{options.index_prefix}-*")
        es.close()
        if node is not None:
            es_node.stop(node.pid)
