"""A Mosquitto broker for training, tests and benches: a real broker on a loopback port.

:func:`start_broker` writes a temporary configuration into ``work_dir`` (a password
file, an ACL in which a lane may write only under its own terminal id, as
``fleet-api.md`` asks, and readers who may only read) and starts ``mosquitto`` on a
free 127.0.0.1 port. The broker is stopped by its pid; :meth:`RunningBroker.restart`
starts it again on the same port with the same retained messages (persistence is
on), as a broker restarted in the middle of a day would be.

Accounts are added while it runs with :meth:`RunningBroker.add_accounts` (the broker
rereads its password file on SIGHUP). Every file is written with mode 0600.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pos_client.errors import TelemetryError

__all__ = ["RunningBroker", "free_port", "mosquitto_path", "start_broker"]

_START_TIMEOUT_S = 10.0


def mosquitto_path() -> str | None:
    """Where the ``mosquitto`` program is, or None."""
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)),
        None,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)


def _check_account(name: str, password: str) -> None:
    if not name or any(c in name for c in ":\n\r#+/ ") or "\n" in password or not password:
        raise TelemetryError(f"the broker account {name!r} cannot be written")


@dataclass
class RunningBroker:
    """A Mosquitto process on ``127.0.0.1:port``, configured in ``work_dir``."""

    work_dir: Path
    port: int
    lanes: dict[str, str] = field(default_factory=dict)
    readers: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    #: A second listener with TLS: ``(port, certificate file, key file)``; None for none.
    tls: tuple[int, Path, Path] | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def tls_url(self) -> str:
        if self.tls is None:
            raise TelemetryError("this broker has no TLS listener")
        return f"mqtts://localhost:{self.tls[0]}"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def log_path(self) -> Path:
        return self.work_dir / "mosquitto.log"

    def _write_files(self) -> None:
        plain = "".join(
            f"{name}:{password}\n" for name, password in {**self.lanes, **self.readers}.items()
        )
        passwd = self.work_dir / "passwd"
        _write_private(passwd, plain)
        program = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
        done = subprocess.run(  # noqa: S603 - a fixed program on a file of our own
            [program, "-U", str(passwd)], capture_output=True, check=False
        )
        if done.returncode != 0:
            raise TelemetryError(f"mosquitto_passwd failed: {done.stderr.decode(errors='replace')}")
        os.chmod(passwd, 0o600)
        acl = [
            "# a lane writes (and reads back) only its own topic; readers read every lane",
            "pattern readwrite pos/v1/+/+/%u/#",
        ]
        for reader in self.readers:
            acl += [f"user {reader}", "topic read pos/v1/#"]
        _write_private(self.work_dir / "acl", "\n".join(acl) + "\n")
        persistence = self.work_dir / "persistence"
        persistence.mkdir(mode=0o700, exist_ok=True)
        conf = [
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
            "per_listener_settings false",
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {self.work_dir / 'passwd'}",
            f"acl_file {self.work_dir / 'acl'}",
            "persistence true",
            f"persistence_location {persistence}/",
            "autosave_interval 1",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "max_queued_messages 10000",
        ]
        if self.tls is not None:
            tls_port, cert, key = self.tls
            conf += [f"listener {tls_port} 127.0.0.1", f"certfile {cert}", f"keyfile {key}"]
        _write_private(self.work_dir / "mosquitto.conf", "\n".join(conf) + "\n")

    def start(self) -> None:
        """Start the broker (again) and wait until it accepts connections."""
        if self.process is not None and self.process.poll() is None:
            return
        program = mosquitto_path()
        if program is None:
            raise TelemetryError("Mosquitto is not installed (Debian package: mosquitto)")
        self._write_files()
        self.process = subprocess.Popen(  # noqa: S603 - a fixed program on our own config
            [program, "-c", str(self.work_dir / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise TelemetryError(
                    f"mosquitto exited at start: {err.strip() or self._log_tail()}"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise TelemetryError(f"mosquitto did not listen on port {self.port}: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return ""

    def add_accounts(
        self, lanes: Mapping[str, str] | None = None, readers: Mapping[str, str] | None = None
    ) -> None:
        """Add lane and reader accounts; a running broker rereads its files (SIGHUP)."""
        for name, password in {**(lanes or {}), **(readers or {})}.items():
            _check_account(name, password)
        self.lanes.update(lanes or {})
        self.readers.update(readers or {})
        if self.process is not None and self.process.poll() is None:
            self._write_files()
            self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        """Stop the broker by its pid (SIGTERM, then SIGKILL after 5 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr:
            process.stderr.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def cpu_seconds(self) -> float:
        """User plus system CPU time the broker process has used (Linux)."""
        if self.pid is None:
            return 0.0
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def start_broker(
    work_dir: Path,
    *,
    lanes: Mapping[str, str] | None = None,
    readers: Mapping[str, str] | None = None,
    port: int | None = None,
    tls: tuple[Path, Path] | None = None,
) -> Iterator[RunningBroker]:
    """Run Mosquitto for the ``with`` block, configured in ``work_dir`` (created, mode 0700).

    ``lanes`` maps terminal ids to passwords (each may write only under its own id);
    ``readers`` maps reader accounts to passwords (read only); ``tls`` (a certificate
    and its key, PEM) adds a TLS listener on another free port (:attr:`RunningBroker.tls_url`)."""
    work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name, password in {**(lanes or {}), **(readers or {})}.items():
        _check_account(name, password)
    broker = RunningBroker(
        work_dir=work_dir,
        port=port or free_port(),
        lanes=dict(lanes or {}),
        readers=dict(readers or {}),
        tls=None if tls is None else (free_port(), tls[0], tls[1]),
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
