"""``[retention]``: how long full rows stay in the store, checked like every other section."""

from __future__ import annotations

from pathlib import Path

import pytest

from pos_client.config import CONFIG_TEMPLATE, MIN_KEEP_DAYS, RetentionConfig, load_config
from pos_client.errors import ConfigError
from tests.test_config import GOOD, write


def test_without_a_retention_section_full_rows_stay_400_days(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.retention == RetentionConfig(keep_days=400, archive=True)


def test_a_retention_section_is_read(tmp_path: Path) -> None:
    text = GOOD + "\n[retention]\nkeep_days = 800\narchive = false\n"
    config = load_config(write(tmp_path, text))
    assert config.retention == RetentionConfig(keep_days=800, archive=False)
    assert "[retention]" in CONFIG_TEMPLATE and "keep_days = 400" in CONFIG_TEMPLATE


@pytest.mark.parametrize(
    ("lines", "key", "words"),
    [
        ("keep_days = 0", "retention.keep_days", f"must be between {MIN_KEEP_DAYS} and"),
        ("keep_days = -5", "retention.keep_days", "must be between"),
        ('keep_days = "400"', "retention.keep_days", "must be a whole number"),
        ("keep_days = 400.5", "retention.keep_days", "must be a whole number"),
        ('archive = "yes"', "retention.archive", "must be true or false"),
        ("keep_dayz = 400", "retention.keep_dayz", "unknown key"),
    ],
)
def test_a_bad_retention_value_is_refused_naming_its_key(
    tmp_path: Path, lines: str, key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, GOOD + f"\n[retention]\n{lines}\n"))
    assert caught.value.key == key
    assert caught.value.message.startswith(f"{key}: ") and words in caught.value.message
