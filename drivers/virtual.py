"""Virtual serial devices: a real pseudo-terminal published at a well-known path.

A virtual scanner or scale is a pty whose *device end* (the master) is driven
by a small thread in this process, and whose *host end* (the slave,
``/dev/pts/N``) is what the driver opens through pyserial, exactly as it opens
``/dev/ttyACM0``. The slave is published as a symlink in a runtime folder::

    $POS_CLIENT_RUNTIME_DIR            if set, else
    $XDG_RUNTIME_DIR/pos-client        if set, else
    <tempdir>/pos-client-<uid>
        scanners/NAME -> /dev/pts/N    scanners/NAME.lock   scanners/NAME.json
        scales/NAME   -> /dev/pts/M    ...

``NAME.lock`` is held (``flock``) for as long as the device lives, so a second
process cannot take the same name and a sender can tell a live device from a
stale link. ``NAME.json`` records how to talk to it (the scanner's suffix).

Unplugging (:meth:`VirtualTty.unplug`) removes the link and closes both ends,
as the kernel does when a USB device goes away; :meth:`VirtualTty.plug` makes a
new pty and publishes it at the same path, like udev's by-id link.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import selectors
import tempfile
import threading
import tty
from collections.abc import Callable
from pathlib import Path

from pos_client.errors import DeviceError

__all__ = ["RUNTIME_ENV", "VirtualTty", "device_dir", "is_live", "runtime_dir"]

log = logging.getLogger(__name__)

#: Environment variable naming the runtime folder (tests and several lanes on one machine).
RUNTIME_ENV = "POS_CLIENT_RUNTIME_DIR"

#: What the device end does with bytes the host wrote: returns the bytes to send back.
Responder = Callable[[bytes], bytes]


def runtime_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The folder that holds the virtual devices' links (not created here)."""
    if override is not None:
        return Path(override)
    env = os.environ.get(RUNTIME_ENV)
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "pos-client"
    return Path(tempfile.gettempdir()) / f"pos-client-{os.getuid()}"


def device_dir(kind: str, override: str | os.PathLike[str] | None = None) -> Path:
    """``<runtime>/<kind>`` (``kind`` is ``"scanners"`` or ``"scales"``)."""
    return runtime_dir(override) / kind


def _make_private_dir(path: Path, error: type[DeviceError]) -> None:
    """Make ``<runtime>/<kind>``, both private (0700) when this creates them."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise error(f"cannot create the folder {path}: {exc.strerror}") from exc


def is_live(link: Path) -> bool:
    """Whether a virtual device at ``link`` is held by a running process."""
    lock = link.with_name(link.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


class VirtualTty:
    """A pty published at ``link``, with a thread answering the host on the master side.

    ``responder`` gets every chunk the host wrote and returns what the device
    sends back (``bytes(data)`` makes a loopback: what another process writes
    into the link reaches the driver reading it). ``info`` is written to
    ``<link>.json`` (mode 0600).
    """

    def __init__(
        self,
        link: Path,
        *,
        responder: Responder,
        error: type[DeviceError],
        info: dict[str, object] | None = None,
    ) -> None:
        self.link = link
        self._responder = responder
        self._error = error
        self._info = dict(info or {})
        self._lock_fd: int | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._slave_path = ""
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._mutex = threading.Lock()

    # ---- life cycle ---------------------------------------------------------------

    def open(self) -> VirtualTty:
        """Take the name, write ``<link>.json`` and plug the device in."""
        _make_private_dir(self.link.parent, self._error)
        lock_path = self.link.with_name(self.link.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise self._error(f"cannot create {lock_path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise self._error(
                f"the virtual device {self.link.name!r} is already in use by another process",
                code="device_busy",
            ) from exc
        self._lock_fd = fd
        info_path = self.link.with_name(self.link.name + ".json")
        tmp = info_path.with_name(info_path.name + f".{os.getpid()}.tmp")
        try:
            with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
                json.dump({**self._info, "pid": os.getpid()}, out)
            os.replace(tmp, info_path)
            self.plug()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Unplug, remove ``<link>.json`` and give the name back."""
        self.unplug()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                self.link.with_name(self.link.name + ".json").unlink()
            os.close(self._lock_fd)
            self._lock_fd = None

    @property
    def plugged(self) -> bool:
        return self._master is not None

    @property
    def slave_path(self) -> str:
        """The ``/dev/pts/N`` the link points to while plugged."""
        return self._slave_path

    def plug(self) -> None:
        """Make a new pty and publish it at :attr:`link` (atomically)."""
        with self._mutex:
            if self._master is not None:
                return
            try:
                master, slave = os.openpty()
            except OSError as exc:
                raise self._error(f"cannot create a pseudo-terminal: {exc.strerror}") from exc
            tty.setraw(slave)  # no echo, no CR/LF translation: bytes pass as they are
            os.set_blocking(master, False)
            slave_path = os.ttyname(slave)
            tmp_link = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
            try:
                with contextlib.suppress(FileNotFoundError):
                    tmp_link.unlink()
                tmp_link.symlink_to(slave_path)
                os.replace(tmp_link, self.link)
            except OSError as exc:
                os.close(master)
                os.close(slave)
                raise self._error(f"cannot publish {self.link}: {exc.strerror}") from exc
            self._master, self._slave, self._slave_path = master, slave, slave_path
            self._wake_r, self._wake_w = os.pipe()
            self._thread = threading.Thread(
                target=self._serve,
                args=(master, self._wake_r),
                name=f"virtual-device-{self.link.name}",
                daemon=True,
            )
            self._thread.start()
        log.debug("virtual device %s plugged in at %s", self.link.name, slave_path)

    def unplug(self) -> None:
        """Remove the link and close the pty, as when the cable is pulled."""
        with self._mutex:
            if self._master is None:
                return
            with contextlib.suppress(FileNotFoundError):
                if self.link.is_symlink() and os.readlink(self.link) == self._slave_path:
                    self.link.unlink()
            os.write(self._wake_w, b"x")
            if self._thread is not None:
                self._thread.join(timeout=5)
            for fd in (self._master, self._slave, self._wake_r, self._wake_w):
                if fd is not None and fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._master = self._slave = None
            self._wake_r = self._wake_w = -1
            self._thread = None
            self._slave_path = ""
        log.debug("virtual device %s unplugged", self.link.name)

    def __enter__(self) -> VirtualTty:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the device end -----------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Send bytes from the device to the host (what a scanner does on a scan)."""
        with self._mutex:
            master = self._master
            if master is None:
                raise self._error(f"the virtual device {self.link.name!r} is unplugged")
            self._write(master, data)

    def _write(self, master: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(master, view)
            except BlockingIOError:
                log.warning(
                    "virtual device %s: the host is not reading; %d bytes dropped",
                    self.link.name,
                    len(view),
                )
                return
            except OSError as exc:
                if exc.errno == errno.EIO:  # nobody holds the host end any more
                    return
                raise
            view = view[written:]

    def _serve(self, master: int, wake: int) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(master, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while True:
                ready = {key.fd for key, _ in selector.select()}
                if wake in ready:
                    return
                try:
                    data = os.read(master, 4096)
                except BlockingIOError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                try:
                    answer = self._responder(data)
                except Exception:  # a simulator bug must not kill the device silently
                    log.exception("virtual device %s: responder failed", self.link.name)
                    continue
                if answer:
                    with contextlib.suppress(OSError):
                        self._write(master, answer)
