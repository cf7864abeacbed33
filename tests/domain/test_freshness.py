"""Whether a signed document is older than the one in force (pos_client.domain.freshness)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pos_client.domain.freshness import catalog_is_older, compare_versions, rule_set_is_older

T = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("a", "b", "order"),
    [
        ("c-000900", "c-000917", -1),
        ("c-000917", "c-000917", 0),
        ("c-1000", "c-999", 1),  # numbers, not text
        ("c-0917", "c-917", 0),  # leading zeros do not count
        ("r-2026-11-23-9", "r-2026-11-23-10", -1),
        ("r-2026-11-24-01", "r-2026-11-23-05", 1),
        ("c-000917", "cat-000918", None),  # written another way: cannot be ordered
        ("c-1", "c-1-2", None),
        ("c-big", "c-small", None),  # no number to compare
        ("same", "same", 0),
    ],
)
def test_compare_versions(a: str, b: str, order: int | None) -> None:
    assert compare_versions(a, b) == order
    assert compare_versions(b, a) == (None if order is None else -order)


@given(st.integers(0, 10**9), st.integers(0, 10**9))
def test_numbered_versions_order_as_their_numbers(x: int, y: int) -> None:
    order = compare_versions(f"c-{x:06d}", f"c-{y:06d}")
    assert order == (x > y) - (x < y)


def test_a_rule_set_is_older_by_issued_at_then_by_version() -> None:
    def older(issued_at: datetime, version: str) -> bool:
        return rule_set_is_older(
            issued_at, version, held_issued_at=T, held_version="r-2026-11-23-02"
        )

    assert older(T - timedelta(seconds=1), "r-2026-11-23-09")
    assert not older(T + timedelta(seconds=1), "r-2026-11-23-01")
    assert older(T, "r-2026-11-23-01")
    assert not older(T, "r-2026-11-23-02")  # the same one again
    assert not older(T, "r-2026-11-23-03")
    tehran = timezone(timedelta(hours=3, minutes=30))
    assert not older(T.astimezone(tehran), "r-2026-11-23-02")


def test_a_catalog_is_older_than_any_floor() -> None:
    assert catalog_is_older("c-000001", floors=("c-000002", None)) == "c-000002"
    assert catalog_is_older("c-000002", floors=(None, "c-000009")) == "c-000009"
    assert catalog_is_older("c-000002", floors=("c-000002", "c-000001")) is None
    assert catalog_is_older("c-000002", floors=(None, None)) is None
    assert catalog_is_older("other-1", floors=("c-000002",)) is None
