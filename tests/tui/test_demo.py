"""``pos-client demo`` as a person starts it: in a real terminal (a pty, 80x24), scans sent in."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import signal
import struct
import sys
import termios
from pathlib import Path

from drivers.scanner.virtual import send_to_lane
from pos_client.tui.rtl import visual
from tests.support.waiting import eventually

#: A bound on how long the demo may take to show a screen (not a timing assertion).
WAIT = 90.0


class Terminal:
    """A child process on a pseudo-terminal, and everything it has written."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: an 80x24 terminal, then the program
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
            os.execvpe(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        self.output = b""
        self.status: int | None = None

    def read(self, timeout: float = 0.2) -> None:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            try:
                self.output += os.read(self.fd, 65536)
            except OSError:  # the child closed the terminal
                self.reap()

    def text(self) -> str:
        return self.output.decode("utf-8", errors="replace")

    def wait_for(self, wanted: str) -> None:
        def shown_or_ended() -> bool:
            return wanted in self.text() or self.reap() is not None

        with contextlib.suppress(AssertionError):  # the sentence below says what was shown
            eventually(
                shown_or_ended, f"the terminal showing {wanted!r}", within=WAIT, step=self.read
            )
        if wanted in self.text():
            return
        raise AssertionError(f"the terminal never showed {wanted!r}:\n{self.text()[-3000:]}")

    def reap(self) -> int | None:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def close(self) -> None:
        if self.reap() is None:
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def test_the_demo_starts_takes_a_scan_and_quits(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    data = tmp_path / "demo"
    env = dict(os.environ, POS_CLIENT_RUNTIME_DIR=str(runtime), TERM="xterm-256color")
    env.pop("TEXTUAL", None)
    argv = [sys.executable, "-m", "pos_client.cli", "demo", "--no-wait", "--data", str(data)]
    term = Terminal([*argv, "--lane", "t"], env)
    try:
        term.wait_for("pos-client scan --lane t")  # the printed help: how to send scans
        term.wait_for(visual("خرید جدید"))  # the idle screen, in Persian, visually ordered
        info = json.loads((data / "sandbox" / "sandbox.json").read_text(encoding="utf-8"))
        nid = next(h["national_id"] for h in info["households"] if h["key"] == "kalabarg")
        assert nid in term.text()  # the help named a national ID to try
        assert send_to_lane("t", [nid], runtime_dir=runtime) == 1
        term.wait_for(visual("کد تأیید (پیامکی)"))  # the OTP screen
        term.wait_for(visual("حالت آموزشی"))  # training mode, and its code shown
        os.write(term.fd, b"\x11")  # Ctrl-Q
        with contextlib.suppress(AssertionError):  # the assertion below shows the terminal
            eventually(
                lambda: term.reap() is not None, "the demo quit", within=WAIT, step=term.read
            )
        assert term.status == 0, term.text()[-2000:]
        assert "Traceback" not in term.text()
    finally:
        term.close()
