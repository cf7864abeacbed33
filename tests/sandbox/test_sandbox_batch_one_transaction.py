"""A batch's items are committed in one transaction, each still judged exactly as if sent
alone: the answers and the books are those of the same items sent one by one.

Two sandboxes from the same template, on the same frozen clock and the same
receipt codes: one takes the items in one batch, the other each item in a
batch of its own (a transaction each, as before). Approved, declined,
refused (a token used twice, an idempotency conflict, a malformed item, the
wrong terminal) and repeated items are mixed, so that an item refused in the
middle must leave the others' changes, and each item must see those before it.
"""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pos_client.sandbox import ledger as ledger_module
from pos_client.sandbox.auth import bearer_digest
from pos_client.sandbox.clock import SandboxClock
from pos_client.sandbox.server import RunningSandbox, start_sandbox
from tests.sandbox.support import simple_spend


class _FrozenClock(SandboxClock):
    def __init__(self, at: datetime) -> None:
        super().__init__()
        self.at = at

    def now(self) -> datetime:
        return self.at


def _items(sb: RunningSandbox) -> list[Any]:
    with sb.client() as client:
        first = simple_spend(sb, client, amount=1_000_000)
        second = simple_spend(sb, client, amount=2_000_000)
        too_much = simple_spend(sb, client, amount=90_000_000)  # more than the tranche
        third = simple_spend(sb, client, amount=500_000)
        reused = dict(simple_spend(sb, client, amount=300_000), beneficiary=first["beneficiary"])
        conflict = dict(second, allocations=[dict(second["allocations"][0], amount_rial=1)])
        elsewhere = simple_spend(sb, client, amount=100_000, terminal_id="T-0002")
    malformed = {"id": "not-a-redemption"}
    return [first, second, too_much, reused, conflict, malformed, first, elsewhere, third]


@pytest.fixture
def pair(tmp_path: Path, sandbox_template: Path) -> Iterator[tuple[RunningSandbox, RunningSandbox]]:
    shutil.copytree(sandbox_template, tmp_path / "a")
    shutil.copytree(sandbox_template, tmp_path / "b")
    with start_sandbox(tmp_path / "a") as a, start_sandbox(tmp_path / "b") as b:
        yield a, b


def _run(sb: RunningSandbox, items: list[Any], *, one_batch: bool) -> list[Any]:
    ledger = sb.sandbox.ledger
    row = ledger.authenticate(bearer_digest(f"Bearer {sb.terminal()['token']}"))
    if one_batch:
        return list(json.loads(ledger.batch(row, items).body)["results"])
    return [json.loads(ledger.batch(row, [item]).body)["results"][0] for item in items]


def _books(sb: RunningSandbox) -> dict[str, list[tuple[Any, ...]]]:
    path = sb.sandbox.data_dir / "ledger.sqlite"
    with closing(sqlite3.connect(path)) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def test_one_batch_answers_and_books_as_the_items_sent_one_by_one(
    pair: tuple[RunningSandbox, RunningSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    items = _items(a)  # tokens of the same key: both sandboxes come from one template
    frozen = datetime.now(UTC) + timedelta(seconds=1)
    answers = {}
    for sb, one_batch in ((a, True), (b, False)):
        sb.sandbox.ledger.clock = _FrozenClock(frozen)
        codes = itertools.count(1)
        monkeypatch.setattr(ledger_module, "_receipt_code", lambda c=codes: f"R{next(c):06d}")
        answers[one_batch] = _run(sb, items, one_batch=one_batch)
    statuses = [r["status_code"] for r in answers[True]]
    assert statuses[:2] == [201, 201] and statuses[6] == 200 and statuses[8] == 201
    assert statuses[2] == 400  # more than a purse holds: refused, nothing booked
    assert statuses[3] == 201 and answers[True][3]["body"]["reason"] == "token_used"
    assert statuses[4] == 409 and statuses[5] == 400 and statuses[7] == 403
    assert answers[True] == answers[False]
    assert _books(a) == _books(b)


def test_a_batch_is_one_write_transaction(
    pair: tuple[RunningSandbox, RunningSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = pair
    items = _items(a)
    books = a.sandbox.books
    opened: list[int] = []
    write = books.write

    def counted() -> Any:
        opened.append(1)
        return write()

    monkeypatch.setattr(books, "write", counted)
    results = _run(a, items, one_batch=True)
    assert len(results) == len(items)
    assert len(opened) == 1  # one commit, one sync of the books, for the whole batch
