"""Maximum flow and minimum-cost maximum flow on small integer networks.

Used by :mod:`pos_client.domain.allocation`, whose networks have a few dozen
nodes (basket categories, purses and their category caps, programmes). The
algorithms are the textbook ones, kept small and deterministic (arcs are
scanned in the order they were added, so the same network always gives the
same flow):

- :meth:`FlowNetwork.max_flow`: Dinic's blocking flows on BFS level graphs.
- :meth:`FlowNetwork.min_cost_max_flow`: successive shortest paths, found by
  Bellman-Ford with a FIFO queue, so negative arc costs are fine as long as
  the network starts without a negative cycle (a DAG always does). Each
  intermediate flow is a minimum-cost flow of its value, hence the final one
  is a maximum flow of minimum cost among maximum flows.

Capacities and costs are ``int`` (costs may be huge: Python integers do not
overflow). Pure: imports only the standard library.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

__all__ = ["FlowNetwork"]


class FlowNetwork:
    """A directed network with integer capacities and costs; arcs come in residual pairs."""

    __slots__ = ("_adjacent", "_base", "_capacity", "_cost", "_head", "_initial")

    def __init__(self, nodes: int) -> None:
        self._adjacent: list[list[int]] = [[] for _ in range(nodes)]
        self._head: list[int] = []
        self._capacity: list[int] = []
        self._initial: list[int] = []
        self._base: list[int] = []
        self._cost: list[int] = []

    @property
    def nodes(self) -> int:
        return len(self._adjacent)

    def add_node(self) -> int:
        self._adjacent.append([])
        return len(self._adjacent) - 1

    def add_arc(self, tail: int, head: int, capacity: int, cost: int = 0) -> int:
        """Add an arc and its residual twin; return the arc's id (the twin is ``id ^ 1``)."""
        if capacity < 0:
            raise ValueError("capacity must not be negative")
        arc = len(self._head)
        self._head += (head, tail)
        self._capacity += (capacity, 0)
        self._initial += (capacity, 0)
        self._base += (capacity, 0)
        self._cost += (cost, -cost)
        self._adjacent[tail].append(arc)
        self._adjacent[head].append(arc + 1)
        return arc

    def restart(self, capacities: Mapping[int, int] | None = None) -> None:
        """Remove all flow and give arcs their capacities as added, or as in ``capacities``."""
        initial = list(self._base)
        for arc, capacity in (capacities or {}).items():
            if capacity < 0:
                raise ValueError("capacity must not be negative")
            initial[arc] = capacity
        self._initial = initial
        self._capacity = list(initial)

    def flow(self, arc: int) -> int:
        """The flow on ``arc`` (as returned by :meth:`add_arc`)."""
        return self._initial[arc] - self._capacity[arc]

    def max_flow(self, source: int, sink: int) -> int:
        """Push a maximum flow from ``source`` to ``sink``; return its value (Dinic)."""
        head, capacity, adjacent = self._head, self._capacity, self._adjacent
        nodes = len(adjacent)
        total = 0
        while True:
            level = [-1] * nodes
            level[source] = 0
            queue = deque([source])
            while queue:
                node = queue.popleft()
                for arc in adjacent[node]:
                    nxt = head[arc]
                    if capacity[arc] > 0 and level[nxt] < 0:
                        level[nxt] = level[node] + 1
                        queue.append(nxt)
            if level[sink] < 0:
                return total
            cursor = [0] * nodes
            unbounded = sum(capacity) + 1
            while True:
                pushed = self._push(source, sink, unbounded, level, cursor)
                if not pushed:
                    break
                total += pushed

    def _push(self, node: int, sink: int, limit: int, level: list[int], cursor: list[int]) -> int:
        """One augmenting path of the level graph from ``node``, by depth-first search."""
        if node == sink:
            return limit
        head, capacity = self._head, self._capacity
        arcs = self._adjacent[node]
        while cursor[node] < len(arcs):
            arc = arcs[cursor[node]]
            nxt = head[arc]
            if capacity[arc] > 0 and level[nxt] == level[node] + 1:
                pushed = self._push(nxt, sink, min(limit, capacity[arc]), level, cursor)
                if pushed:
                    capacity[arc] -= pushed
                    capacity[arc ^ 1] += pushed
                    return pushed
            cursor[node] += 1
        return 0

    def min_cost_max_flow(self, source: int, sink: int) -> tuple[int, int]:
        """Push a maximum flow of minimum cost; return ``(value, cost)``."""
        head, capacity, cost, adjacent = self._head, self._capacity, self._cost, self._adjacent
        nodes = len(adjacent)
        total = total_cost = 0
        while True:
            distance: list[int | None] = [None] * nodes
            previous = [-1] * nodes
            queued = [False] * nodes
            distance[source] = 0
            previous[source] = -2
            queue = deque([source])
            while queue:
                node = queue.popleft()
                queued[node] = False
                here = distance[node]
                assert here is not None
                for arc in adjacent[node]:
                    if capacity[arc] <= 0:
                        continue
                    nxt = head[arc]
                    candidate = here + cost[arc]
                    there = distance[nxt]
                    if there is None or candidate < there:
                        distance[nxt] = candidate
                        previous[nxt] = arc
                        if not queued[nxt]:
                            queued[nxt] = True
                            queue.append(nxt)
            reached = distance[sink]
            if reached is None:
                return total, total_cost
            pushed = self._augment(previous, source, sink)
            total += pushed
            total_cost += pushed * reached

    def _augment(self, previous: list[int], source: int, sink: int) -> int:
        head, capacity = self._head, self._capacity
        bottleneck: int | None = None
        node = sink
        while node != source:
            arc = previous[node]
            if bottleneck is None or capacity[arc] < bottleneck:
                bottleneck = capacity[arc]
            node = head[arc ^ 1]
        assert bottleneck is not None
        node = sink
        while node != source:
            arc = previous[node]
            capacity[arc] -= bottleneck
            capacity[arc ^ 1] += bottleneck
            node = head[arc ^ 1]
        return bottleneck
