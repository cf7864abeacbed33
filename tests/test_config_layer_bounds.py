"""The lane's own file and the config layers hold each layerable key to the same bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pos_client.config import parse_config
from pos_client.domain.config_layers import KEYS
from pos_client.errors import ConfigError

BASE: dict[str, Any] = {
    "terminal": {"id": "T-1", "city": "rasht"},
    "ledger": {"url": "http://127.0.0.1:1/", "token": "tok"},
}


def _parse(key: str, value: Any) -> Any:
    section, _, name = key.partition(".")
    data = {**BASE, section: {**BASE.get(section, {}), name: value}}
    return parse_config(data, base_dir=Path("/tmp"))


@pytest.mark.parametrize("key", sorted(k for k, s in KEYS.items() if s.kind == "int"))
def test_whole_number_bounds_agree(key: str) -> None:
    spec = KEYS[key]
    for good in (spec.low, spec.high):
        assert _parse(key, good).file_values[key] == good
        assert spec.check(good) is None
    for bad in (spec.low - 1, spec.high + 1):
        with pytest.raises(ConfigError):
            _parse(key, bad)
        assert spec.check(bad) is not None


def test_defaults_agree_and_only_set_keys_count_as_the_files() -> None:
    config = parse_config(dict(BASE), base_dir=Path("/tmp"))
    assert dict(config.file_values) == {}
    assert (
        config.offline.max_rial_per_transaction == KEYS["offline.max_rial_per_transaction"].default
    )
    assert config.offline.max_outstanding_rial == KEYS["offline.max_outstanding_rial"].default
    assert config.ledger.sale_budget_s == KEYS["ledger.sale_budget_s"].default
    assert config.ui.language == KEYS["ui.language"].default
