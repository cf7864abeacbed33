"""Figure group: the durable enqueue of a redemption, p50 and p99.

Times :meth:`SqliteStore.record_new_redemption` (the sale's journal row, which
carries its outbox columns, with what its triggers keep, in one transaction
committed with ``synchronous=FULL`` in WAL mode: on disk when it returns)
beside:

- the limit: one bare INSERT of one row holding the same bytes (id, body,
  basket) into a one-table SQLite file in the same folder, same journal mode
  and ``synchronous=FULL``, one transaction per row;
- a peer: persist-queue's ``SQLiteAckQueue.put`` of the same redemption
  (all its fields, as a dict; persist-queue pickles it), configured for
  durability: ``auto_commit=True`` (each put is its own committed
  transaction), ``multithreading=False`` (one connection, as one lane
  writes), its default WAL journal, and ``synchronous=FULL`` checked on its
  connection (SQLite's default; set again so it cannot differ).

The sale is a token sale (a household's QR code), each with its token's own id:
the store also keeps the id as used, in the same transaction (a token is good
for one sale); the peer gets the id inside the record it stores.

The three run interleaved, one of each per round, so that they meet the same
disk weather. Between rounds, untimed, the store checkpoints its WAL as the
lane does once a sale is over (:meth:`SqliteStore.checkpoint`); the bare
insert and the peer keep SQLite's automatic checkpoint, inside their commits.
Goal: within 1.5x the bare insert, and faster than the peer.

Imports the standard library, sqlite3, the store adapter and the benchmark's
own modules; persist-queue (the ``bench`` extra) when it runs.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pos_client.adapters.store import SqliteStore
from pos_client.services.redemptions import new_redemption_id

from .figures import Against, Figure, Goal, percentile
from .world import new_redemption

__all__ = ["measure"]

GROUP = "enqueue"
FULL = 2  # PRAGMA synchronous=FULL


def _bare(path: Path) -> tuple[sqlite3.Connection, Callable[[str, bytes, str], None]]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE outbox (id TEXT PRIMARY KEY, body BLOB NOT NULL, basket TEXT)")

    def insert(redemption_id: str, body: bytes, basket: str) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO outbox VALUES (?, ?, ?)", (redemption_id, body, basket))
        conn.execute("COMMIT")

    return conn, insert


def _peer(path: Path) -> Any:
    """persist-queue's SQLiteAckQueue, set up as durably as the store (the ``bench`` extra)."""
    try:
        from persistqueue import SQLiteAckQueue
    except ImportError:
        raise RuntimeError(
            "the peer, persist-queue, is not installed: pip install 'pos-client[bench]'"
        ) from None
    queue = SQLiteAckQueue(str(path), auto_commit=True, multithreading=False)
    connections: list[sqlite3.Connection] = [queue._putter, queue._getter]  # type: ignore[list-item]
    for conn in {id(c): c for c in connections}.values():
        conn.execute("PRAGMA synchronous=FULL")
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        sync = conn.execute("PRAGMA synchronous").fetchone()[0]
        if str(mode).lower() != "wal" or int(sync) != FULL:
            raise RuntimeError("persist-queue is not set up as durably as the store")
    return queue


def measure(folder: Path, *, rounds: int) -> list[Figure]:
    folder.mkdir(parents=True, exist_ok=True)
    template = new_redemption()
    queue = _peer(folder / "persist-queue")  # first: without it there is nothing to open
    store = SqliteStore.open(folder / "lane.sqlite")
    bare_conn, bare_insert = _bare(folder / "bare.sqlite")
    ours: list[float] = []
    bare: list[float] = []
    peer: list[float] = []
    warm = max(10, rounds // 20)
    try:
        for n in range(warm + rounds):
            now = datetime.now(UTC)
            new = dataclasses.replace(
                template, id=new_redemption_id(now), created_at=now, token_jti=str(uuid.uuid4())
            )
            record = dataclasses.asdict(new)
            order = n % 3  # rotate who goes first
            timings = [0.0, 0.0, 0.0]
            for k in range(3):
                which = (order + k) % 3
                start = time.perf_counter()
                if which == 0:
                    store.record_new_redemption(new, at=now)
                elif which == 1:
                    bare_insert(new.id, new.body, new.basket)
                else:
                    queue.put(record)
                timings[which] = (time.perf_counter() - start) * 1000
            store.checkpoint()  # the sale is over: the lane checkpoints (untimed)
            if n >= warm:
                ours.append(timings[0])
                bare.append(timings[1])
                peer.append(timings[2])
        written = store.outbox_stats()["count"]
        if written != warm + rounds or queue.qsize() != warm + rounds:
            raise RuntimeError("not every enqueue was kept")
    finally:
        store.close()
        bare_conn.close()
        queue.close()
    note = "record_new_redemption (journal row with its outbox columns, one fsynced transaction)"
    peer_name = "persist-queue SQLiteAckQueue.put"
    figures = []
    for q in (50, 99):
        value = percentile(ours, q)
        figures.append(
            Figure(
                key=f"enqueue_p{q}_vs_bare",
                group=GROUP,
                name=f"Durable enqueue p{q}",
                value=value,
                unit="ms",
                against=Against("limit", f"bare fsynced 1-row insert p{q}", percentile(bare, q)),
                goal=Goal("ratio_at_most", 1.5, "≤ 1.5x limit"),
                samples=rounds,
                note=note,
            )
        )
        figures.append(
            Figure(
                key=f"enqueue_p{q}_vs_peer",
                group=GROUP,
                name=f"Durable enqueue p{q}",
                value=value,
                unit="ms",
                against=Against("peer", f"{peer_name} p{q}", percentile(peer, q)),
                goal=Goal("ratio_below", 1.0, "< 1x peer (faster)"),
                samples=rounds,
                note="persist-queue: auto_commit=True, multithreading=False, WAL, synchronous=FULL",
            )
        )
    return figures
