"""What the settings screen changes, kept on the lane: language, currency, right-to-left.

The lane's configuration (``[ui]``) gives the defaults; what a person picks on
the settings screen is kept in the lane store (``meta``, keys ``ui.*``) and
wins over the configuration from then on, at every start, until picked again.
A command-line flag wins over both for that run. A value that is not one of
the known choices (a store edited by hand) is ignored.

Imports the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

__all__ = ["CHOICES", "LanePreferences", "UiPreferences", "load_preferences", "save_preferences"]

#: Each setting and its choices (the first is the default).
CHOICES: Final[Mapping[str, tuple[str, ...]]] = {
    "language": ("fa", "en"),
    "currency": ("toman", "rial"),
    "rtl": ("app", "terminal"),
}


class _MetaStore(Protocol):
    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


@dataclass(frozen=True, slots=True)
class UiPreferences:
    language: str = "fa"
    currency: str = "toman"
    rtl: str = "app"


def _pick(name: str, *candidates: str | None) -> str:
    for value in candidates:
        if value in CHOICES[name]:
            return value
    return CHOICES[name][0]


def load_preferences(store: _MetaStore, *, defaults: UiPreferences) -> UiPreferences:
    """What was picked on this lane, else ``defaults`` (the configuration's)."""
    return UiPreferences(
        **{
            name: _pick(name, store.get_meta(f"ui.{name}"), getattr(defaults, name))
            for name in CHOICES
        }
    )


def save_preferences(store: _MetaStore, preferences: UiPreferences) -> None:
    """Keep ``preferences`` on the lane (each value checked against its choices)."""
    for name in CHOICES:
        value = getattr(preferences, name)
        if value not in CHOICES[name]:
            raise ValueError(f"{name}: not one of {', '.join(CHOICES[name])}")
    for name in CHOICES:
        store.set_meta(f"ui.{name}", getattr(preferences, name))


class LanePreferences:
    """The preferences of one lane, over its store (what the settings screen calls)."""

    def __init__(self, store: _MetaStore) -> None:
        self._store = store

    def load(self, *, defaults: UiPreferences) -> UiPreferences:
        """As :func:`load_preferences`."""
        return load_preferences(self._store, defaults=defaults)

    def save(self, preferences: UiPreferences) -> None:
        """As :func:`save_preferences`."""
        save_preferences(self._store, preferences)
