"""One ``journal export --json`` of a store, for the history group's export figure (not a command).

``python -m pos_client.bench.history_child STORE CAP`` runs the command's own
handler (``pos-client journal export --json``) with the lane it works on made
from the store at STORE, opened read-only (no config, no ledger), its output
thrown away, its address space capped at CAP bytes. It then prints one JSON
line: resident memory at its start (``VmRSS`` once the store is open) and at
its peak (``VmHWM``), in kB, and whether the export ran to its end.

Imports the standard library and, when run, the command line, the store
adapter and the records service.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any


def _memory_kb() -> dict[str, int]:
    out = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def main(argv: list[str]) -> int:
    store_path, cap = Path(argv[0]), int(argv[1])
    from pos_client import cli
    from pos_client.adapters.store import SqliteStore
    from pos_client.commands import journal as journal_command
    from pos_client.ports import SystemClock
    from pos_client.services.records import Records

    store = SqliteStore.open(store_path, read_only=True)

    class Lane:
        records = Records(store=store, clock=SystemClock())

    def run_with_app(
        args: Any, work: Callable[[Any], Coroutine[Any, Any, int]], **options: Any
    ) -> int:
        return asyncio.run(work(Lane()))

    setattr(journal_command, "run_with_app", run_with_app)  # noqa: B010 - the command's lane
    start = _memory_kb()["VmRSS"]
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    real_stdout = sys.stdout
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        sys.stdout = devnull
        try:
            code = cli.main(["journal", "export", "--json", "--config", "unused.toml"])
        except MemoryError:
            code = -1
        finally:
            sys.stdout = real_stdout
    store.close()
    peak = _memory_kb()["VmHWM"]
    print(json.dumps({"start_kb": start, "peak_kb": peak, "ok": code == 0}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
