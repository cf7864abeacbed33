"""``pos-client scanner listen`` and ``pos-client scan``, end to end in separate processes."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

import pytest

from drivers.virtual import is_live
from pos_client.domain.barcodes import classify_scan, gtin_check_digit
from tests.drivers.conftest import WAIT

EAN = "626123456789" + str(gtin_check_digit("626123456789"))


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pos_client.cli", *args]


class Lines:
    """Reads a pipe on a thread so a test can wait for a line with a timeout."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str) -> str:
        while True:
            try:
                line = self._queue.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no line with {text!r}; saw {self.seen}") from None
            if line is None:
                raise AssertionError(f"stream ended without {text!r}; saw {self.seen}")
            self.seen.append(line)
            if text in line:
                return line

    def rest(self) -> list[str]:
        out = []
        while (line := self._queue.get(timeout=WAIT)) is not None:
            out.append(line)
        return out


@pytest.fixture
def env(runtime_dir: Path) -> dict[str, str]:
    return {**os.environ, "POS_CLIENT_RUNTIME_DIR": str(runtime_dir), "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def listener(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], Lines, Lines]]:
    def start(*args: str) -> tuple[subprocess.Popen[str], Lines, Lines]:
        proc = subprocess.Popen(
            cli("scanner", "listen", *args),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        assert proc.stdout is not None and proc.stderr is not None
        return proc, Lines(proc.stdout), Lines(proc.stderr)

    started: list[subprocess.Popen[str]] = []
    yield start  # type: ignore[misc]
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(WAIT)


def test_listen_prints_one_json_line_per_scan_from_another_process(
    listener: object, env: dict[str, str]
) -> None:
    proc, out, err = listener(  # type: ignore[operator]
        "virtual://lane-T-0001", "--json", "--count", "3", "--show-secrets"
    )
    err.wait_for("connected")
    sent = subprocess.run(
        cli("scan", "--lane", "lane-T-0001", f"]E0{EAN}", "0499370899", "12345678"),
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
    )
    assert sent.returncode == 0, sent.stderr
    assert proc.wait(WAIT) == 0
    records = [json.loads(line) for line in out.rest()]
    assert [r["data"] for r in records] == [f"]E0{EAN}", "0499370899", "12345678"]
    assert [r["kind"] for r in records] == [classify_scan(r["data"]).kind for r in records]
    assert [r["kind"] for r in records[:2]] == ["product", "national_id"]
    assert [r["symbology"] for r in records] == ["]E0", None, None]
    assert {r["source"] for r in records} == {"virtual://lane-T-0001"}
    assert all(datetime.fromisoformat(r["time"]).tzinfo is not None for r in records)
    assert set(records[0]) == {"data", "kind", "symbology", "source", "time"}


def test_listen_stops_cleanly_on_sigterm_and_frees_the_name(
    listener: object, env: dict[str, str], runtime_dir: Path
) -> None:
    proc, out, err = listener("virtual://till-2", "--show-secrets")  # type: ignore[operator]
    err.wait_for("connected")
    link = runtime_dir / "scanners" / "till-2"
    assert is_live(link)
    subprocess.run(cli("scan", "--lane", "till-2", "hello"), env=env, timeout=WAIT * 2, check=True)
    assert out.wait_for("hello").split()[1] == "unknown"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(WAIT) == 0
    assert not is_live(link) and not link.exists()
    assert "Traceback" not in "\n".join(err.rest())


def test_scan_without_a_running_lane_says_so(env: dict[str, str]) -> None:
    result = subprocess.run(
        cli("scan", "--lane", "nobody", "123"),
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
    )
    assert result.returncode == 1
    assert "no running lane has a virtual scanner named 'nobody'" in result.stderr
    assert "Traceback" not in result.stderr


def test_listen_on_a_bad_url_says_so(env: dict[str, str]) -> None:
    result = subprocess.run(
        cli("scanner", "listen", "serial:///dev/ttyACM0?suffix=tab"),
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
    )
    assert result.returncode == 1
    assert "suffix" in result.stderr and "Traceback" not in result.stderr


def test_listen_masks_identities_unless_asked_to_show_them(
    listener: object, env: dict[str, str]
) -> None:
    token = "KB1.eyJzdWIiOiIwNDk5MzcwODk5In0.c2lnbmF0dXJlLWJ5dGVzLXE3"
    secrets = ["0499370899", token, "80417263"]
    proc, out, err = listener("virtual://lane-T-0002", "--json", "--count", "4")  # type: ignore[operator]
    err.wait_for("connected")
    sent = subprocess.run(
        cli("scan", "--lane", "lane-T-0002", f"]E0{EAN}", *secrets),
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
    )
    assert sent.returncode == 0, sent.stderr
    assert proc.wait(WAIT) == 0
    lines = out.rest()
    records = [json.loads(line) for line in lines]
    assert [r["kind"] for r in records] == ["product", "national_id", "token", "purchase_code"]
    assert [r["data"] for r in records] == [f"]E0{EAN}", "049*****99", "KB1....LXE3", "******63"]
    for secret in secrets:
        assert [line for line in lines if secret in line] == [], secret

    proc, out, err = listener("virtual://lane-T-0002", "--count", "1")  # type: ignore[operator]
    err.wait_for("connected")
    subprocess.run(cli("scan", "--lane", "lane-T-0002", token), env=env, timeout=WAIT * 2)
    assert proc.wait(WAIT) == 0
    [line] = out.rest()
    assert token not in line and "KB1....LXE3" in line
    assert line.split()[1] == "token"
