"""The sandbox ledger in a process of its own, for the benchmark (not a command).

``python -m pos_client.bench.ledger_child DATA CATALOG_SIZE`` starts the
sandbox on a free loopback port, prints one JSON line ``{"url": ...}`` once it
answers ``/v1/health``, and serves until its standard input is closed. A
process of its own, so that the ledger and the lane being measured do not share
one interpreter lock, as they would not in a shop.

Imports the standard library and the sandbox.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pos_client.sandbox.server import start_sandbox


def main(argv: list[str]) -> int:
    data_dir, catalog_size = Path(argv[0]), int(argv[1])
    with start_sandbox(data_dir, catalog_size=catalog_size) as running:
        sys.stdout.write(json.dumps({"url": running.url}) + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # until the benchmark closes our stdin
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
