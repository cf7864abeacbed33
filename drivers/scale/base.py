"""The scale interface: a stable weight in integer grams, or a :class:`ScaleError`.

A lane asks :meth:`Scale.read_weight` when a product sold by weight is
scanned; the call returns only a *stable* weight (the scale said it is not in
motion), or raises :class:`~pos_client.errors.ScaleError` with a ``code``
(``scale_unstable``, ``scale_over_capacity``, ``scale_under_zero``,
``scale_timeout``, ``scale_unavailable``, ``scale_protocol``, ``scale_units``)
within its timeout. It blocks: call it from a worker thread, not the UI's.

This module must not import pos_client.tui, services, adapters or sandbox.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

__all__ = ["Scale", "ScaleReading", "ScaleStatus"]


@dataclass(frozen=True, slots=True)
class ScaleStatus:
    """What a scale says about itself when it has no usable weight."""

    motion: bool = False
    over_capacity: bool = False
    under_zero: bool = False
    outside_zero_range: bool = False
    center_of_zero: bool = False
    net: bool = False


@dataclass(frozen=True, slots=True)
class ScaleReading:
    """One answer: ``grams`` when the weight is stable, else ``None`` and a status."""

    grams: int | None
    status: ScaleStatus | None = None
    net: bool = False

    @property
    def stable(self) -> bool:
        return self.grams is not None


class Scale(ABC):
    """One weighing scale, opened from a URL."""

    #: Names the scale in messages (the URL without options).
    source: str

    @abstractmethod
    def read_once(self) -> ScaleReading:
        """Ask the scale once."""

    @abstractmethod
    def read_weight(self, *, timeout: float = 3.0) -> int:
        """The stable weight in grams, asking until it settles or ``timeout`` seconds pass."""

    @abstractmethod
    def close(self) -> None:
        """Release the port. Idempotent."""

    def __enter__(self) -> Scale:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
