"""The virtual scanner ``virtual://NAME``: a real tty that other processes can scan into.

:class:`VirtualScannerPort` is the device end: a pseudo-terminal published at
``<runtime>/scanners/NAME`` (see :mod:`drivers.virtual`) whose master side
loops back whatever is written into the link. So anything that writes a frame
into that path, ``pos-client scan --lane NAME TEXT`` from another terminal or
``printf '123\\r' > .../scanners/NAME``, arrives at the lane's scanner, which
reads the tty through the same :class:`~drivers.scanner.serialport.SerialScanner`
code as a USB scanner. In-process, :meth:`VirtualScannerPort.send` does the same.

:class:`VirtualScanner` is what ``open_scanner("virtual://NAME")`` returns:
the port and the serial reader started and stopped together.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterable
from pathlib import Path

from drivers.scanner.base import Scanner, ScannerStatus
from drivers.scanner.framing import Suffix, encode_frame
from drivers.scanner.serialport import SerialScanner
from drivers.urls import check_name
from drivers.virtual import VirtualTty, device_dir, is_live
from pos_client.errors import ScannerError

__all__ = ["VirtualScanner", "VirtualScannerPort", "scanner_link", "send_to_lane"]

KIND = "scanners"


def scanner_link(name: str, runtime_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the virtual scanner ``name`` is published."""
    check_name(name, error=ScannerError, what="scanner")
    return device_dir(KIND, runtime_dir) / name


class VirtualScannerPort:
    """The device end of a virtual scanner (a pty at a well-known path)."""

    def __init__(
        self,
        name: str,
        *,
        suffix: Suffix = Suffix.CR,
        encoding: str = "utf-8",
        runtime_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.name = name
        self.suffix = Suffix(suffix)
        self.encoding = encoding
        self._tty = VirtualTty(
            scanner_link(name, runtime_dir),
            responder=bytes,  # loop back: writes into the link reach the reader
            error=ScannerError,
            info={"kind": "scanner", "suffix": self.suffix.value, "encoding": encoding},
        )

    @property
    def link(self) -> Path:
        return self._tty.link

    @property
    def plugged(self) -> bool:
        return self._tty.plugged

    def open(self) -> VirtualScannerPort:
        self._tty.open()
        return self

    def close(self) -> None:
        self._tty.close()

    def plug(self) -> None:
        """Plug the scanner (back) in: a new pty at the same path."""
        self._tty.plug()

    def unplug(self) -> None:
        """Pull the cable: the link goes away and the reader's read fails."""
        self._tty.unplug()

    def send(self, text: str) -> None:
        """Scan ``text`` (with the AIM identifier if any), framed by the suffix."""
        self._tty.send(encode_frame(text, self.suffix, encoding=self.encoding))

    def send_bytes(self, data: bytes) -> None:
        """Send raw bytes (noise, partial frames) as a faulty scanner would."""
        self._tty.send(data)

    def __enter__(self) -> VirtualScannerPort:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


class VirtualScanner(Scanner):
    """A :class:`VirtualScannerPort` and the serial reader of its link, as one scanner."""

    def __init__(self, port: VirtualScannerPort, reader: SerialScanner) -> None:
        self.port = port
        self.reader = reader
        self.source = reader.source

    @property
    def status(self) -> ScannerStatus:
        return self.reader.status

    def start(self) -> None:
        """Publish the pty (:class:`ScannerError` if the name is taken) and start reading."""
        if not self.port.plugged:
            self.port.open()
        try:
            self.reader.start()
        except BaseException:
            self.port.close()
            raise

    def stop(self) -> None:
        self.reader.stop()
        self.port.close()

    def send(self, text: str) -> None:
        self.port.send(text)


def send_to_lane(
    name: str,
    texts: Iterable[str],
    *,
    runtime_dir: str | os.PathLike[str] | None = None,
) -> int:
    """Write one frame per text into the running virtual scanner ``name``; return how many.

    Raises :class:`ScannerError` (code ``no_such_scanner``) when no running
    process holds that virtual scanner.
    """
    link = scanner_link(name, runtime_dir)
    if not link.is_symlink() or not is_live(link):
        raise ScannerError(
            f"no running lane has a virtual scanner named {name!r} (looked in {link.parent})",
            code="no_such_scanner",
        )
    suffix, encoding = Suffix.CR, "utf-8"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        info = json.loads(link.with_name(link.name + ".json").read_text(encoding="utf-8"))
        suffix, encoding = Suffix(info["suffix"]), str(info["encoding"])
    try:
        frames = [encode_frame(t, suffix, encoding=encoding) for t in texts]
    except (UnicodeEncodeError, LookupError) as exc:
        raise ScannerError(f"cannot encode the scan as {encoding}", code="noise") from exc
    try:
        fd = os.open(link, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ScannerError(
            f"the virtual scanner {name!r} cannot be opened: {exc.strerror}",
            code="no_such_scanner",
        ) from exc
    try:
        view = memoryview(b"".join(frames))
        while view:
            try:
                view = view[os.write(fd, view) :]
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    raise ScannerError(
                        f"the virtual scanner {name!r} is not reading", code="scanner_busy"
                    ) from exc
                raise ScannerError(
                    f"writing to the virtual scanner {name!r} failed: {exc.strerror}"
                ) from exc
    finally:
        os.close(fd)
    return len(frames)
