"""The Elasticsearch node the tests share: one per test session, started and stopped here.

With $ES_URL set (say, from ``make es-up``) the tests use that node instead. Without Java or
Maven the Elasticsearch tests are skipped on a developer's machine, but fail in CI (CI=true):
a store that is never tested must not look green.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from tools import es_node

NODE_FIGURES: dict[str, float] = {}
"""Start time and memory of this session's node, shown in pytest's closing summary."""


@pytest.fixture(scope="session")
def es_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real Elasticsearch node on loopback, at least yellow."""
    existing = os.environ.get("ES_URL")
    if existing:
        if es_node.health(existing, timeout_s=30) is None:
            pytest.fail(f"ES_URL={existing} does not answer with yellow or green health")
        yield existing.rstrip("/")
        return
    toolchain = es_node.find_toolchain()
    if toolchain is None or not es_node.is_built():
        _missing(toolchain)
    assert toolchain is not None
    try:
        node = es_node.start(toolchain, tmp_path_factory.mktemp("es-node"))
    except es_node.NodeError as exc:
        pytest.fail(f"the Elasticsearch node did not start: {exc}")
    NODE_FIGURES.update(start_seconds=node.start_seconds, rss_at_ready=node.rss_bytes())
    try:
        yield node.url
    finally:
        NODE_FIGURES["peak_rss"] = node.peak_rss_bytes()
        es_node.stop(node.pid)


def _missing(toolchain: es_node.Toolchain | None) -> None:
    """Skip (no toolchain, on a developer's machine) or fail (CI, or a toolchain but no build)."""
    if toolchain is None or toolchain.mvn is None:
        reason = f"no JDK 21+ at {es_node.DEFAULT_JAVA_HOME} (or $NSSA_ES_JAVA_HOME), or no mvn"
        if os.environ.get("CI") == "true":
            pytest.fail(f"Elasticsearch tests cannot run in CI: {reason}")
        pytest.skip(reason)
    pytest.fail("tools/es-node is not built (or is older than its sources): run `make es-build`")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Report the node's start time and memory, the figures the issue asks CI to measure."""
    if not NODE_FIGURES:
        return
    mib = 2**20
    terminalreporter.write_line(
        f"Elasticsearch node: ready in {NODE_FIGURES['start_seconds']:.1f}s, "
        f"RSS {NODE_FIGURES['rss_at_ready'] / mib:.0f} MiB at ready, "
        f"peak {NODE_FIGURES.get('peak_rss', 0) / mib:.0f} MiB"
    )


def closed_port() -> int:
    """A loopback port nobody listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
