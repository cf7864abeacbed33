"""Commands that list or export stream their rows: constant memory, a few large writes.

The real command (``pos_client.cli.main``, in process so that its memory can be
traced) on a real SQLite store filled with thousands of sales, its standard
output an unbuffered binary stream as ``python -u`` and ``PYTHONUNBUFFERED``
make it; a real process for a reader that goes away (``| head``).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from pos_client.adapters.store import SqliteStore
from pos_client.cli import main
from pos_client.commands.journal import entry_json
from pos_client.config import load_config
from pos_client.errors import StoreError
from pos_client.sandbox.server import RunningSandbox
from pos_client.services.records import Records
from tests.support.filled import FIRST_DAY, fill_journal
from tests.support.journal import NOW, new


class Sink(io.RawIOBase):
    """An unbuffered binary standard output: counts each write, keeps the bytes if asked."""

    def __init__(self, *, keep: bool = True) -> None:
        self.writes = 0
        self.size = 0
        self.data: bytearray | None = bytearray() if keep else None

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.writes += 1
        self.size += len(b)
        if self.data is not None:
            self.data += bytes(b)
        return len(b)


def run(*args: str, keep: bool = True) -> tuple[int, Sink, str]:
    """``pos-client ARGS`` in this process: exit code, standard output, standard error."""
    sink = Sink(keep=keep)
    out = io.TextIOWrapper(sink, encoding="utf-8", write_through=True)  # as `python -u` has it
    err = io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    out.flush()
    out.detach()
    return code, sink, err.getvalue()


def filled(sandbox: RunningSandbox, count: int, terminal_id: str = "T-0001") -> str:
    """The config of a lane whose store holds ``count`` final sales, 100 a day."""
    path = sandbox.config_path(terminal_id)
    fill_journal(load_config(path).store.path, count)
    return str(path)


def old_export(config: str) -> bytes:
    """What ``journal export --json`` printed before it streamed: the whole list, dumped."""
    with SqliteStore.open(load_config(config).store.path, read_only=True) as store:
        rows = [entry_json(e) for e in store.journal()]
    text = io.StringIO()
    json.dump(rows, text, ensure_ascii=False, indent=None, separators=(",", ":"))
    text.write("\n")
    return text.getvalue().encode("utf-8")


@pytest.fixture
def lane_2000(sandbox: RunningSandbox) -> str:
    return filled(sandbox, 2_000)


def test_export_peak_memory_does_not_grow_with_the_journal(sandbox: RunningSandbox) -> None:
    small, large = filled(sandbox, 2_000, "T-0001"), filled(sandbox, 20_000, "T-0002")
    peaks = {}
    for name, config in (("small", small), ("large", large)):
        tracemalloc.start()
        try:
            code, sink, err = run("journal", "export", "--config", config, "--json", keep=False)
            peaks[name] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert code == 0, err
        assert sink.size > 1_000_000
    # Ten times the rows: the same peak (one page of rows, one chunk), give or take.
    assert peaks["large"] < 1.3 * peaks["small"], peaks


def test_json_export_is_one_array_in_a_few_writes_equal_to_the_old_output(lane_2000: str) -> None:
    code, sink, err = run("journal", "export", "--config", lane_2000, "--json")
    assert code == 0 and err == ""
    assert sink.data is not None
    expected = old_export(lane_2000)
    assert json.loads(sink.data) == json.loads(expected)
    assert bytes(sink.data) == expected  # byte for byte what the whole list dumped gave
    assert len(json.loads(sink.data)) == 2_000
    # Unbuffered: one write per row at most, plus a few (not one per JSON token).
    assert sink.writes <= 2_000 + 3, sink.writes


def test_ndjson_export_prints_one_object_a_line(lane_2000: str) -> None:
    code, sink, err = run("journal", "export", "--config", lane_2000, "--ndjson")
    assert code == 0 and err == ""
    assert sink.data is not None
    text = sink.data.decode("utf-8")
    assert text.endswith("\n")
    lines = text.splitlines()
    assert [json.loads(line) for line in lines] == json.loads(old_export(lane_2000))
    assert sink.writes <= 2_000 + 3


def test_an_empty_journal_is_an_empty_array_no_lines_or_nothing(sandbox: RunningSandbox) -> None:
    config = filled(sandbox, 0)
    for form, printed in (("--json", b"[]\n"), ("--ndjson", b""), (None, b"")):
        code, sink, err = run("journal", "export", "--config", config, *([form] if form else []))
        assert code == 0 and err == "", form
        assert sink.data == printed, form


def test_from_to_exports_the_business_dates_between_inclusive(lane_2000: str) -> None:
    every = json.loads(old_export(lane_2000))
    first, last = FIRST_DAY + timedelta(days=3), FIRST_DAY + timedelta(days=5)
    code, sink, err = run(
        "journal", "export", "--config", lane_2000, "--json",
        "--from", first.isoformat(), "--to", last.isoformat(),
    )  # fmt: skip
    assert code == 0, err
    assert sink.data is not None
    wanted = [e for e in every if first.isoformat() <= e["business_date"] <= last.isoformat()]
    assert len(wanted) == 300
    assert json.loads(sink.data) == wanted
    for bounds, count in (
        (("--from", (FIRST_DAY + timedelta(days=18)).isoformat()), 200),
        (("--to", FIRST_DAY.isoformat()), 100),
        (("--from", "2030-01-01"), 0),
    ):
        code, sink, err = run("journal", "export", "--config", lane_2000, "--ndjson", *bounds)
        assert code == 0, err
        assert sink.data is not None
        assert len(sink.data.splitlines()) == count, bounds
    code, sink, err = run(
        "journal", "export", "--config", lane_2000, "--from", "2026-01-05", "--to", "2026-01-04"
    )  # fmt: skip
    assert code == 2 and "--from 2026-01-05 is after --to 2026-01-04" in err
    assert sink.data == b""


def test_from_to_finds_a_row_written_after_the_clock_was_set_back(lane_2000: str) -> None:
    path = load_config(lane_2000).store.path
    day = FIRST_DAY + timedelta(days=2)
    with SqliteStore.open(path) as store:
        late = next(store.journal())
        # A sale written last, dated back to the third day (the clock was set back).
        store.record_new_redemption(replace(new("S-LATE"), business_date=day), at=NOW)
    code, sink, err = run(
        "journal", "export", "--config", lane_2000, "--ndjson",
        "--from", day.isoformat(), "--to", day.isoformat(),
    )  # fmt: skip
    assert code == 0, err
    assert sink.data is not None
    ids = [json.loads(line)["id"] for line in sink.data.splitlines()]
    assert len(ids) == 101 and ids[-1] == "S-LATE" and late.id not in ids


def test_a_range_is_read_from_its_first_row_by_the_tables_key(lane_2000: str) -> None:
    """Nothing before the range is read, and the pages are ranges of the key, never a scan."""
    with SqliteStore.open(load_config(lane_2000).store.path, read_only=True) as store:
        plans: list[str] = []
        store._db.conn.set_trace_callback(plans.append)
        rows = list(store.journal(since=FIRST_DAY + timedelta(days=19)))
        store._db.conn.set_trace_callback(None)
        pages = [sql for sql in plans if sql.startswith("SELECT seq,")]
        assert [e.id for e in rows] == [f"S-{n:06d}" for n in range(1_900, 2_000)]
        # The first page starts at the range's first row, the next after the last row read.
        assert [sql.split(" WHERE ")[1].split(" AND ")[0] for sql in pages] == [
            f"seq >= {rows[0].seq}",
            f"seq >= {rows[-1].seq + 1}",
        ]
        for sql in pages:
            plan = store._db.conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
            assert [p[3] for p in plan] == ["SEARCH journal USING INTEGER PRIMARY KEY (rowid>?)"]


def test_an_error_part_way_leaves_the_array_open_and_says_so(
    lane_2000: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Records.journal

    def failing(self: Records, **dates: date | None) -> Iterator[Any]:
        for n, entry in enumerate(journal(self, **dates)):
            if n == 3:
                raise StoreError("the lane's store could not be read: disk I/O error")
            yield entry

    monkeypatch.setattr(Records, "journal", failing)
    every = json.loads(old_export(lane_2000))
    code, sink, err = run("journal", "export", "--config", lane_2000, "--json")
    assert code == 1 and "could not be read" in err and "Traceback" not in err
    assert sink.data is not None
    # The rows read so far, whole; the array never closed: no parser takes it for a whole export.
    assert bytes(sink.data) == ("[" + ",".join(json.dumps(
        r, ensure_ascii=False, separators=(",", ":")) for r in every[:3])).encode()  # fmt: skip
    with pytest.raises(json.JSONDecodeError):
        json.loads(sink.data)
    code, sink, err = run("journal", "export", "--config", lane_2000, "--ndjson")
    assert code == 1 and "could not be read" in err
    assert sink.data is not None
    assert [json.loads(line) for line in sink.data.splitlines()] == every[:3]


def test_a_reader_that_goes_away_ends_the_export_quietly(lane_2000: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pos_client.cli", "journal", "export", "--config", lane_2000],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(100)  # `| head -c 100`
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 128 + signal.SIGPIPE
    assert err == ""


def test_lists_take_ndjson_and_say_when_empty(sandbox: RunningSandbox) -> None:
    config = filled(sandbox, 0)
    for args, text in (
        (("queue", "list"), "the outbox is empty\n"),
        (("problems", "list"), "no problems\n"),
    ):
        assert run(*args, "--config", config)[1].data == text.encode()
        assert run(*args, "--config", config, "--json")[1].data == b"[]\n"
        assert run(*args, "--config", config, "--ndjson")[1].data == b""
    with pytest.raises(SystemExit):  # one form only
        run("queue", "list", "--config", config, "--json", "--ndjson")
