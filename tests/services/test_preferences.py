"""Settings picked on the screen, kept on the lane: what wins, what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from pos_client.adapters.store import SqliteStore
from pos_client.services.preferences import (
    LanePreferences,
    UiPreferences,
    load_preferences,
    save_preferences,
)

CONFIGURED = UiPreferences(language="fa", currency="toman", rtl="app")


def test_picked_settings_outlive_the_process_and_win_over_the_configuration(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lane.sqlite"
    with SqliteStore.open(path) as store:
        assert load_preferences(store, defaults=CONFIGURED) == CONFIGURED
        save_preferences(store, UiPreferences(language="en", currency="rial", rtl="terminal"))
    with SqliteStore.open(path) as store:
        assert load_preferences(store, defaults=CONFIGURED) == UiPreferences(
            language="en", currency="rial", rtl="terminal"
        )


def test_an_unknown_choice_is_refused_and_a_bad_stored_one_ignored(tmp_path: Path) -> None:
    with SqliteStore.open(tmp_path / "lane.sqlite") as store:
        with pytest.raises(ValueError, match="currency"):
            save_preferences(store, UiPreferences(currency="dollar"))
        assert store.get_meta("ui.language") is None  # nothing of it was kept
        store.set_meta("ui.rtl", "sideways")
        store.set_meta("ui.currency", "rial")
        picked = load_preferences(store, defaults=UiPreferences(rtl="terminal"))
        assert (picked.rtl, picked.currency, picked.language) == ("terminal", "rial", "fa")


def test_the_lanes_preferences_are_what_the_settings_screen_saves_and_loads(
    tmp_path: Path,
) -> None:
    with SqliteStore.open(tmp_path / "lane.sqlite") as store:
        preferences = LanePreferences(store)
        assert preferences.load(defaults=CONFIGURED) == CONFIGURED
        picked = UiPreferences(language="en", currency="rial", rtl="terminal")
        preferences.save(picked)
        assert preferences.load(defaults=CONFIGURED) == picked
        assert load_preferences(store, defaults=CONFIGURED) == picked  # one record, two doors
