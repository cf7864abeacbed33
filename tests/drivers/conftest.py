"""Fixtures for the driver tests: a private runtime folder and a recorder of scanner events."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from drivers.scanner import Backoff, ScanFrame, ScannerState, ScannerStatus

WAIT = 5.0  # seconds: the most any event below may take on a slow machine

FAST_BACKOFF = Backoff(first=0.01, longest=0.1)


@pytest.fixture
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "run"
    monkeypatch.setenv("POS_CLIENT_RUNTIME_DIR", str(path))
    return path


class Recorder:
    """Collects scans and states from reader threads; waits on a condition, never sleeps."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.scans: list[ScanFrame] = []
        self.states: list[ScannerState] = []

    def on_scan(self, frame: ScanFrame) -> None:
        with self._cond:
            self.scans.append(frame)
            self._cond.notify_all()

    def on_state(self, state: ScannerState) -> None:
        with self._cond:
            self.states.append(state)
            self._cond.notify_all()

    def _wait(self, predicate: Callable[[], bool], what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout=WAIT):
                raise AssertionError(
                    f"timed out waiting for {what}; scans={[s.data for s in self.scans]}"
                    f" states={[(s.status.value, s.detail) for s in self.states]}"
                )

    def wait_scans(self, count: int) -> list[str]:
        self._wait(lambda: len(self.scans) >= count, f"{count} scans")
        with self._cond:
            return [s.data for s in self.scans]

    def wait_state(self, status: ScannerStatus, *, nth: int = 1, source: str | None = None) -> None:
        def seen() -> bool:
            hits = [
                s
                for s in self.states
                if s.status is status and (source is None or s.source == source)
            ]
            return len(hits) >= nth

        self._wait(seen, f"state {status.value} #{nth}")

    def data(self) -> list[str]:
        with self._cond:
            return [s.data for s in self.scans]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
