"""The refusal probe of the real herd, in a process of its own (not a command).

``python -m pos_client.bench.herd_probe URL TOKEN`` asks, one request at a
time, for ``/v1/rules`` (limited: under a herd mostly refused) and
``/v1/health`` (never limited) in turn, until its standard input is closed.
It prints ``ready`` once it has reached the ledger, then, at the end, one JSON
line: the seconds each refusal (429 or 503) took, each admitted answer and
each health answer, and when (Unix time) each limited request was sent. A
process of its own, so that its timings do not wait on the lanes' interpreter
lock.

Imports the standard library and httpx.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import httpx


def main(argv: list[str]) -> int:
    url, token = argv[0], argv[1]
    stop = threading.Event()

    def until_stdin_closes() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=until_stdin_closes, daemon=True).start()
    refused: list[float] = []
    admitted: list[float] = []
    health: list[float] = []
    rules_at: list[float] = []  # Unix time of each limited request (the sandbox counts it)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30.0) as client:
        client.get("/v1/health").raise_for_status()
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        while not stop.is_set():
            for path in ("/v1/rules", "/v1/health"):
                if path == "/v1/rules":
                    rules_at.append(time.time())
                start = time.perf_counter()
                response = client.get(path)
                seconds = time.perf_counter() - start
                if path == "/v1/health":
                    health.append(seconds)
                elif response.status_code in (429, 503):
                    refused.append(seconds)
                else:
                    admitted.append(seconds)
            time.sleep(0.02)
    sys.stdout.write(
        json.dumps(
            {"refused": refused, "admitted": admitted, "health": health, "rules_at": rules_at}
        )
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
