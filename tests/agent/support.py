"""Running the lane agent as a real process against the sandbox ledger (not a test module)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pos_client.sandbox.server import RunningSandbox


@dataclass
class RunningAgent:
    """A ``pos-client agent`` process; ``client()`` talks to it over its Unix socket."""

    process: subprocess.Popen[str]
    socket: Path
    first_line: str
    rest: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def client(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=str(self.socket)),
            base_url="http://lane",
            timeout=timeout,
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    @property
    def stderr(self) -> str:
        return "".join(self.errors)


def short_dir() -> Path:
    """A folder short enough for a Unix socket's path (pytest's tmp_path may be too long)."""
    return Path(tempfile.mkdtemp(prefix="agent-", dir="/tmp"))


def _drain(stream: Any, into: list[str]) -> None:
    for line in stream:
        into.append(line)


def start_agent(
    sandbox: RunningSandbox,
    socket_path: Path,
    *args: str,
    terminal_id: str = "T-0001",
    env: dict[str, str] | None = None,
    config_path: Path | None = None,
) -> RunningAgent:
    """Start the agent on the demo terminal's config (or ``config_path``); wait until it listens."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pos_client.cli",
            "agent",
            "--config",
            str(config_path or sandbox.config_path(terminal_id)),
            "--socket",
            str(socket_path),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None and process.stderr is not None
    errors: list[str] = []
    threading.Thread(target=_drain, args=(process.stderr, errors), daemon=True).start()
    first = process.stdout.readline()
    agent = RunningAgent(process, socket_path, first, errors=errors)
    threading.Thread(target=_drain, args=(process.stdout, agent.rest), daemon=True).start()
    if "listening on" not in first:
        process.kill()
        process.wait(timeout=10)
        raise AssertionError(f"the agent did not start: {first!r} {''.join(errors)}")
    return agent


@contextmanager
def agent(
    sandbox: RunningSandbox,
    *args: str,
    terminal_id: str = "T-0001",
    config_path: Path | None = None,
) -> Iterator[RunningAgent]:
    """A running agent, stopped (SIGTERM, then SIGKILL if it hangs) after the block."""
    path = short_dir() / "agent.sock"
    running = start_agent(sandbox, path, *args, terminal_id=terminal_id, config_path=config_path)
    try:
        yield running
    finally:
        try:
            running.stop()
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait(timeout=10)
