"""Maximum flow and minimum-cost maximum flow (pos_client.domain.flow), checked against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.sparse import csr_array
from scipy.sparse.csgraph import maximum_flow

from pos_client.domain.flow import FlowNetwork

Arc = tuple[int, int, int, int]  # tail, head, capacity, cost


@st.composite
def networks(draw: st.DrawFn) -> tuple[int, list[Arc]]:
    nodes = draw(st.integers(min_value=2, max_value=7))
    arcs = draw(
        st.lists(
            st.tuples(
                st.integers(0, nodes - 1),
                st.integers(0, nodes - 1),
                st.integers(0, 20),
                st.integers(-9, 9),
            ).filter(lambda a: a[0] != a[1]),
            max_size=16,
        )
    )
    return nodes, arcs


def build(nodes: int, arcs: list[Arc], *, costs: bool) -> FlowNetwork:
    net = FlowNetwork(nodes)
    for tail, head, capacity, cost in arcs:
        net.add_arc(tail, head, capacity, cost if costs else 0)
    return net


def conservation(nodes: int, arcs: list[Arc], net: FlowNetwork, ids: list[int]) -> list[int]:
    balance = [0] * nodes
    for (tail, head, capacity, _), arc in zip(arcs, ids, strict=True):
        flow = net.flow(arc)
        assert 0 <= flow <= capacity
        balance[tail] -= flow
        balance[head] += flow
    return balance


@settings(max_examples=300, deadline=None)
@given(networks())
def test_max_flow_matches_scipy(network: tuple[int, list[Arc]]) -> None:
    nodes, arcs = network
    net = FlowNetwork(nodes)
    ids = [net.add_arc(t, h, c) for t, h, c, _ in arcs]
    value = net.max_flow(0, nodes - 1)
    matrix = np.zeros((nodes, nodes), dtype=np.int32)
    for tail, head, capacity, _ in arcs:
        matrix[tail, head] += capacity
    assert value == maximum_flow(csr_array(matrix), 0, nodes - 1).flow_value
    balance = conservation(nodes, arcs, net, ids)
    assert balance[nodes - 1] == value == -balance[0]
    assert all(b == 0 for b in balance[1 : nodes - 1])


@settings(max_examples=300, deadline=None)
@given(networks())
def test_min_cost_max_flow_matches_a_linear_program(network: tuple[int, list[Arc]]) -> None:
    nodes, arcs = network
    # No cycles: successive shortest paths must start without a negative cycle.
    arcs = [(t, h, c, w) if t < h else (h, t, c, w) for t, h, c, w in arcs]
    net = FlowNetwork(nodes)
    ids = [net.add_arc(t, h, c, w) for t, h, c, w in arcs]
    value, cost = net.min_cost_max_flow(0, nodes - 1)
    balance = conservation(nodes, arcs, net, ids)
    assert balance[nodes - 1] == value
    assert cost == sum(net.flow(a) * w for a, (_, _, _, w) in zip(ids, arcs, strict=True))
    assert value == build(nodes, arcs, costs=False).max_flow(0, nodes - 1)
    if not arcs:
        assert (value, cost) == (0, 0)
        return
    # The cheapest flow of that value, by linear programming (integral for networks).
    equality = np.zeros((nodes, len(arcs)))
    for n, (tail, head, _, _) in enumerate(arcs):
        equality[tail, n] -= 1
        equality[head, n] += 1
    target = np.zeros(nodes)
    target[0], target[nodes - 1] = -value, value
    result = linprog(
        [w for *_, w in arcs],
        A_eq=equality,
        b_eq=target,
        bounds=[(0, c) for _, _, c, _ in arcs],
    )
    assert result.success
    assert cost == round(result.fun)


def test_restart_and_negative_capacity() -> None:
    net = FlowNetwork(3)
    first = net.add_arc(0, 1, 5)
    net.add_arc(1, 2, 3)
    assert net.max_flow(0, 2) == 3
    net.restart({first: 1})
    assert net.max_flow(0, 2) == 1
    assert net.flow(first) == 1
    net.restart()
    assert net.max_flow(0, 2) == 3
    with pytest.raises(ValueError):
        net.add_arc(0, 2, -1)
    with pytest.raises(ValueError):
        net.restart({first: -1})
