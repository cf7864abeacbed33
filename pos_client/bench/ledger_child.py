"""The sandbox ledger in a process of its own, for the benchmark (not a command).

``python -m pos_client.bench.ledger_child DATA CATALOG_SIZE [TERMINALS]`` starts the
sandbox on a free loopback port (with ``TERMINALS`` more terminals than the
demo's three, ``T-1001`` on, each with its token and lane file), prints one
JSON line ``{"url": ...}`` once it answers ``/v1/health``, and serves until
its standard input is closed. A process of its own, so that the ledger and the
lane being measured do not share one interpreter lock, as they would not in a
shop.

Imports the standard library and the sandbox.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

from pos_client.sandbox.book_rows import TerminalRow
from pos_client.sandbox.datadir import token_hash
from pos_client.sandbox.server import build_sandbox, serving_process, start_sandbox


def add_terminals(data_dir: Path, catalog_size: int, count: int) -> None:
    """``count`` more terminals of one chain (``T-1001`` on), for a herd of lanes."""
    sandbox = build_sandbox(data_dir, catalog_size=catalog_size)
    try:
        with sandbox.books.write() as tx:
            tokens: dict[str, str] = json.loads(tx.meta("terminal_tokens") or "{}")
            for number in range(1001, 1001 + count):
                terminal_id = f"T-{number:04d}"
                if terminal_id in tokens:
                    continue
                token = "tok_" + secrets.token_urlsafe(24)
                tokens[terminal_id] = token
                tx.add_terminal(
                    TerminalRow(terminal_id, "rasht", "M-0001", "فروشگاه نمونه"),
                    token_sha256=token_hash(token),
                )
            tx.set_meta("terminal_tokens", json.dumps(tokens))
    finally:
        sandbox.close()


def main(argv: list[str]) -> int:
    data_dir, catalog_size = Path(argv[0]), int(argv[1])
    serving_process()
    if len(argv) > 2 and int(argv[2]) > 0:
        add_terminals(data_dir, catalog_size, int(argv[2]))
    with start_sandbox(data_dir, catalog_size=catalog_size) as running:
        sys.stdout.write(json.dumps({"url": running.url}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # until the benchmark closes our stdin
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
