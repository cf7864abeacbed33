"""The virtual scale ``virtual-scale://NAME``: a pty with a simulated 8217 scale behind it.

:class:`VirtualScaleDevice` publishes a pseudo-terminal at
``<runtime>/scales/NAME`` (see :mod:`drivers.virtual`); its device end answers
``W`` as a Mettler Toledo 8217 scale would, from a weight and a state that a
test or a demo sets: :meth:`~VirtualScaleDevice.put` an item (in motion for
the next ``settle`` answers), go over capacity or under zero, or fall silent.
:class:`VirtualScale` is the device plus a :class:`~drivers.scale.toledo.Toledo8217Scale`
reading its link, as ``open_scale("virtual-scale://NAME")`` returns it.

Another process puts an item on a running virtual scale with
:func:`put_on_lane` (``pos-client scale --lane NAME GRAMS``): it writes
``<runtime>/scales/NAME.weight`` (mode 0600, replaced whole), which the
device reads when it is next asked for a weight.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from drivers.scale.base import Scale, ScaleReading, ScaleStatus
from drivers.scale.toledo import (
    MAX_GRAMS,
    Toledo8217Scale,
    encode_status,
    encode_weight,
)
from drivers.urls import check_name
from drivers.virtual import VirtualTty, device_dir, is_live
from pos_client.errors import ScaleError

__all__ = ["VirtualScale", "VirtualScaleDevice", "put_on_lane", "scale_link"]

KIND = "scales"


def scale_link(name: str, runtime_dir: str | os.PathLike[str] | None = None) -> Path:
    check_name(name, error=ScaleError, what="scale")
    return device_dir(KIND, runtime_dir) / name


def _weight_file(link: Path) -> Path:
    return link.with_name(link.name + ".weight")


#: The most answers "in motion" another process may ask of a virtual scale.
MAX_SETTLE = 100


def put_on_lane(
    name: str,
    grams: int,
    *,
    settle: int = 0,
    runtime_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Put ``grams`` on the running virtual scale ``name`` (in motion for ``settle`` answers).

    Raises :class:`ScaleError`: ``no_such_scale`` when no running process
    holds that scale, ``bad_weight`` for a weight or settle count out of range.
    Returns the file written.
    """
    if type(grams) is not int or not 0 <= grams <= MAX_GRAMS:
        raise ScaleError(f"the weight must be 0 to {MAX_GRAMS} grams", code="bad_weight")
    if type(settle) is not int or not 0 <= settle <= MAX_SETTLE:
        raise ScaleError(f"settle must be 0 to {MAX_SETTLE} answers", code="bad_weight")
    link = scale_link(name, runtime_dir)
    if not link.is_symlink() or not is_live(link):
        raise ScaleError(
            f"no running lane has a virtual scale named {name!r} (looked in {link.parent})",
            code="no_such_scale",
        )
    target = _weight_file(link)
    spare = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(f"{grams} {settle}\n")
        os.replace(spare, target)
    except OSError as exc:
        spare.unlink(missing_ok=True)
        raise ScaleError(f"cannot write {target}: {exc.strerror}", code="no_such_scale") from exc
    return target


class VirtualScaleDevice:
    """A simulated 8217 scale on a pty. Thread-safe setters; answers on its own thread."""

    def __init__(
        self,
        name: str,
        *,
        grams: int = 0,
        capacity_g: int = MAX_GRAMS,
        runtime_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.name = name
        self.capacity_g = capacity_g  # above it the scale says "over capacity"
        self._state = threading.Lock()
        self._grams = grams
        self._settle = 0
        self._over = False
        self._under = False
        self._silent = False
        self._net = False
        self.requests = 0  # how many W it has answered (or ignored while silent)
        self._weight_file = _weight_file(scale_link(name, runtime_dir))
        self._weight_seen: tuple[int, int] | None = None  # (inode, mtime) of the file last read
        self._tty = VirtualTty(
            scale_link(name, runtime_dir),
            responder=self._answer,
            error=ScaleError,
            info={"kind": "scale", "protocol": "8217"},
        )

    @property
    def link(self) -> Path:
        return self._tty.link

    def open(self) -> VirtualScaleDevice:
        self._tty.open()
        self._weight_file.unlink(missing_ok=True)  # a weight left by an earlier run is not ours
        return self

    def close(self) -> None:
        self._tty.close()

    def unplug(self) -> None:
        self._tty.unplug()

    def plug(self) -> None:
        self._tty.plug()

    def put(self, grams: int, *, settle: int = 0, net: bool = False) -> None:
        """Put ``grams`` on the platter; the next ``settle`` answers say "in motion"."""
        with self._state:
            self._grams, self._settle, self._net = grams, settle, net
            self._over = self._under = False

    def set_over_capacity(self, over: bool = True) -> None:
        with self._state:
            self._over = over

    def set_under_zero(self, under: bool = True) -> None:
        with self._state:
            self._under = under

    def set_silent(self, silent: bool = True) -> None:
        """Stop answering (a scale switched off but still cabled)."""
        with self._state:
            self._silent = silent

    def _follow_weight_file(self) -> None:
        """Take a weight another process put (see :func:`put_on_lane`), once, when it changes."""
        try:
            stat = self._weight_file.stat()
            seen = (stat.st_ino, stat.st_mtime_ns)  # each put replaces the file: a new inode
            if seen == self._weight_seen:
                return
            self._weight_seen = seen
            grams, settle = (int(part) for part in self._weight_file.read_text("ascii").split())
        except (OSError, ValueError):
            return  # none, or not one we wrote: the weight stays as it was
        if 0 <= grams <= MAX_GRAMS and 0 <= settle <= MAX_SETTLE:
            self.put(grams, settle=settle)

    def _answer(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            if byte & 0x7F != ord("W"):
                continue  # CR after W, or a command this simulator does not know
            self._follow_weight_file()
            with self._state:
                self.requests += 1
                if self._silent:
                    continue
                grams = self._grams
                status = ScaleStatus(
                    motion=self._settle > 0,
                    over_capacity=self._over or grams > min(self.capacity_g, MAX_GRAMS),
                    under_zero=self._under or grams < 0,
                    center_of_zero=grams == 0,
                    net=self._net,
                )
                if self._settle > 0:
                    self._settle -= 1
            if status.motion or status.over_capacity or status.under_zero:
                out += encode_status(status)
            else:
                out += encode_weight(grams, net=status.net)
        return bytes(out)

    def __enter__(self) -> VirtualScaleDevice:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


class VirtualScale(Scale):
    """A :class:`VirtualScaleDevice` and the 8217 reader of its link, as one scale."""

    def __init__(self, device: VirtualScaleDevice, reader: Toledo8217Scale) -> None:
        self.device = device
        self.reader = reader
        self.source = reader.source

    def open(self) -> VirtualScale:
        self.device.open()
        try:
            self.reader.open()
        except BaseException:
            self.device.close()
            raise
        return self

    def read_once(self) -> ScaleReading:
        return self.reader.read_once()

    def read_weight(self, *, timeout: float = 3.0) -> int:
        return self.reader.read_weight(timeout=timeout)

    def close(self) -> None:
        self.reader.close()
        self.device.close()
