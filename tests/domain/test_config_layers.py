"""Layered terminal config: precedence, locks, ceilings, refusals naming key and layer."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_client.domain.config_layers import (
    KEYS,
    Layer,
    LayerError,
    merge,
    parse_config_document,
    parse_layer,
    parse_value_text,
)

INT_KEYS = sorted(k for k, s in KEYS.items() if s.kind == "int")


def _value(key: str) -> st.SearchStrategy[Any]:
    spec = KEYS[key]
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "int":
        return st.integers(spec.low, spec.high)
    if spec.kind == "choice":
        return st.sampled_from(spec.choices)
    return st.sampled_from(["", "mqtts://broker.example:8883", "mqtt://127.0.0.1"])


@st.composite
def _values(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(KEYS)), unique=True))
    return {k: draw(_value(k)) for k in keys}


@st.composite
def _chain(draw: st.DrawFn) -> Layer:
    values = draw(_values())
    locks = draw(st.lists(st.sampled_from(sorted(values) or ["-"]), unique=True))
    locks = [k for k in locks if k in values]
    ceiling_keys = draw(st.lists(st.sampled_from(INT_KEYS), unique=True))
    ceilings = {k: draw(_value(k)) for k in ceiling_keys}
    return Layer("chain", None, values, frozenset(locks), ceilings)


@st.composite
def _layering(draw: st.DrawFn) -> tuple[list[Layer], dict[str, Any]]:
    layers: list[Layer] = []
    if draw(st.booleans()):
        layers.append(draw(_chain()))
    if draw(st.booleans()):
        layers.append(Layer("store", "S-1", draw(_values())))
    if draw(st.booleans()):
        layers.append(Layer("lane", "T-1", draw(_values())))
    layers = draw(st.permutations(layers))
    return layers, draw(_values())


@settings(max_examples=300)
@given(_layering())
def test_never_above_a_ceiling_and_a_lock_always_holds(case: tuple[list[Layer], dict]) -> None:
    layers, file_values = case
    result = merge(layers, file_values=file_values)
    assert set(result) == set(KEYS)
    chain = next((layer for layer in layers if layer.level == "chain"), None)
    for key, eff in result.items():
        assert KEYS[key].check(eff.value) is None
        if chain is None:
            continue
        if key in chain.ceilings:
            assert eff.value <= chain.ceilings[key]
        if key in chain.locks:
            expected = chain.values[key]
            if key in chain.ceilings:
                expected = min(expected, chain.ceilings[key])
            assert eff.value == expected
            assert eff.source in ("lock", "ceiling")


@settings(max_examples=200)
@given(_layering())
def test_merging_is_deterministic_whatever_the_order(case: tuple[list[Layer], dict]) -> None:
    layers, file_values = case
    first = merge(layers, file_values=file_values)
    assert merge(list(reversed(layers)), file_values=dict(file_values)) == first


@settings(max_examples=200)
@given(_layering())
def test_precedence_without_locks_or_ceilings(case: tuple[list[Layer], dict]) -> None:
    layers, file_values = case
    plain = [Layer(layer.level, layer.id, layer.values) for layer in layers]
    result = merge(plain, file_values=file_values)
    by_level = {layer.level: layer for layer in plain}
    for key, eff in result.items():
        if key in file_values:
            assert (eff.value, eff.source) == (file_values[key], "file")
            continue
        for level in ("lane", "store", "chain"):
            if level in by_level and key in by_level[level].values:
                assert (eff.value, eff.source) == (by_level[level].values[key], level)
                break
        else:
            assert (eff.value, eff.source) == (KEYS[key].default, "default")


def test_a_lane_may_lower_an_offline_limit_but_never_raise_it() -> None:
    chain = parse_layer(
        {
            "values": {"offline": {"max_rial_per_transaction": 5_000_000}},
            "ceilings": {"offline.max_rial_per_transaction": 3_000_000},
        },
        level="chain",
    )
    high = merge([chain], file_values={"offline.max_rial_per_transaction": 9_000_000})
    eff = high["offline.max_rial_per_transaction"]
    assert (eff.value, eff.source, eff.capped_from, eff.wanted_from) == (
        3_000_000,
        "ceiling",
        9_000_000,
        "file",
    )
    low = merge([chain], file_values={"offline.max_rial_per_transaction": 1_000_000})
    assert low["offline.max_rial_per_transaction"].value == 1_000_000
    assert low["offline.max_rial_per_transaction"].source == "file"


def test_a_lock_wins_over_the_lanes_own_file() -> None:
    chain = parse_layer(
        {"values": {"offline": {"enabled": False}}, "locks": ["offline.enabled"]}, level="chain"
    )
    lane = parse_layer({"values": {"offline": {"enabled": True}}}, level="lane", layer_id="T-1")
    result = merge([lane, chain], file_values={"offline.enabled": True})
    eff = result["offline.enabled"]
    assert (eff.value, eff.source, eff.wanted, eff.wanted_from) == (False, "lock", True, "file")


@pytest.mark.parametrize(
    ("level", "layer_id", "data", "key", "layer"),
    [
        ("chain", None, {"values": {"offline": {"max_rial": 1}}}, "offline.max_rial", "chain"),
        ("store", "S-1", {"values": {"ui": {"language": "de"}}}, "ui.language", "store S-1"),
        (
            "lane",
            "T-9",
            {"values": {"offline": {"max_rial_per_transaction": -1}}},
            "offline.max_rial_per_transaction",
            "lane T-9",
        ),
        ("lane", "T-9", {"values": {"offline": {"enabled": "yes"}}}, "offline.enabled", "lane T-9"),
        (
            "chain",
            None,
            {"values": {}, "ceilings": {"ui.language": "fa"}},
            "ui.language",
            "chain",
        ),
        ("chain", None, {"values": {}, "locks": ["offline.enabled"]}, "offline.enabled", "chain"),
        ("chain", None, {"values": {"telemetry": {"url": "http://x"}}}, "telemetry.url", "chain"),
    ],
)
def test_bad_keys_and_values_are_refused_naming_key_and_layer(
    level: str, layer_id: str | None, data: dict, key: str, layer: str
) -> None:
    with pytest.raises(LayerError) as caught:
        parse_layer(data, level=level, layer_id=layer_id)
    assert caught.value.key == key
    assert caught.value.layer == layer
    assert key in caught.value.message and layer in caught.value.message


def test_the_lanes_file_is_held_to_the_same_rules() -> None:
    with pytest.raises(LayerError) as caught:
        merge([], file_values={"ledger.sale_budget_s": 1})
    assert caught.value.layer == "file" and caught.value.key == "ledger.sale_budget_s"


def test_store_and_lane_layers_hold_no_locks_or_ceilings() -> None:
    with pytest.raises(LayerError, match="store S-1"):
        parse_layer(
            {"values": {}, "ceilings": {"offline.max_outstanding_rial": 1}},
            level="store",
            layer_id="S-1",
        )


def test_a_document_as_in_the_contract_is_read() -> None:
    doc = parse_config_document(
        {
            "version": "tc-000042",
            "issued_at": "2026-12-01T08:00:00Z",
            "layers": [
                {
                    "level": "chain",
                    "values": {"offline": {"max_rial_per_transaction": 5000000}},
                    "locks": ["offline.max_rial_per_transaction"],
                    "ceilings": {
                        "offline.max_rial_per_transaction": 5000000,
                        "offline.max_outstanding_rial": 50000000,
                    },
                },
                {"level": "store", "id": "S-017", "values": {"ui": {"language": "fa"}}},
                {"level": "lane", "id": "T-0001", "values": {}},
            ],
        }
    )
    assert doc.version == "tc-000042"
    assert [layer.name for layer in doc.layers] == ["chain", "store S-017", "lane T-0001"]
    result = merge(doc.layers)
    assert result["ui.language"].source == "store"
    assert result["offline.max_rial_per_transaction"].source == "lock"


def test_values_typed_from_a_command_line() -> None:
    assert parse_value_text("offline.max_rial_per_transaction", "3,000,000") == 3_000_000
    assert parse_value_text("offline.enabled", "False") is False
    with pytest.raises(LayerError, match=r"offline\.max_hours_since_contact"):
        parse_value_text("offline.max_hours_since_contact", "1000")
    with pytest.raises(LayerError, match="unknown key"):
        parse_value_text("offline.nope", "1")
