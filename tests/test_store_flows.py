"""Reading stored flows back by time (for ``nssa baseline``): SQLite and Elasticsearch alike."""

from __future__ import annotations

from collections.abc import Callable

from nssa.training import FlowHistory
from sensors.events import DnsQuery, Flow, Transport
from tests.conftest import T0
from tests.test_store_conformance import AnyStore, store  # noqa: F401 (fixture)


def test_flows_in_a_time_range_come_back_oldest_first_across_pages(
    store: AnyStore,  # noqa: F811
    make_flow: Callable[..., Flow],
) -> None:
    flows = [make_flow(start=T0 + n, end=T0 + n + 1, src_port=40000 + n) for n in range(7)]
    twin = make_flow(start=T0 + 3, end=T0 + 4, src_port=50000)  # same start: id breaks the tie
    query = DnsQuery(
        time=T0 + 2,
        sensor="cloud-core",
        src_ip="10.21.3.4",
        src_port=53000,
        dst_ip="10.10.0.53",
        dst_port=53,
        transport=Transport.UDP,
        query="www.smx.gov.example",
        qtype="A",
    )
    store.put_events([*reversed(flows), twin, query])
    assert isinstance(store, FlowHistory)
    got = list(store.flows(T0 + 1, T0 + 6, page=2))
    expected = sorted([*flows[1:6], twin], key=lambda f: (f.start, f.id))
    assert got == expected
    assert list(store.flows(T0 + 100, T0 + 200)) == []
