"""The doctor names a sale left open for over a day, and says what to do, in both languages.

The facts are read from a real store file, opened read-only as the doctor does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from pos_client.adapters.store import SqliteStore
from pos_client.domain.states import RedemptionStatus as S
from pos_client.services.doctor import StoreFacts, Verdict, judge_store
from pos_client.services.doctor.store import gather_store
from tests.support.journal import NOW, answer, new


def _facts(path: Path) -> StoreFacts:
    return gather_store(
        path, open_store=lambda: SqliteStore.open(path, read_only=True), config_keys={}
    )


def _store(path: Path, *opened: tuple[str, timedelta, bool, str | None]) -> None:
    """Sales written ``age`` before NOW; ``seen``; ``intent`` None: answered and final."""
    with SqliteStore.open(path) as s:
        for rid, age, seen, intent in opened:
            s.record_new_redemption(replace(new(rid), created_at=NOW - age), at=NOW - age)
            if intent is None:
                s.set_status(rid, S.APPROVED, at=NOW, answer=answer(rid), leave_outbox=True)
            elif intent != "hold":
                s.set_intent(rid, intent, at=NOW - age, note="")  # type: ignore[arg-type]
            if seen:
                s.mark_seen(rid)


def test_an_interrupted_sale_two_days_old_is_named_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite"
    _store(
        path,
        ("done", timedelta(days=3), True, None),
        ("lost", timedelta(days=2), False, "hold"),
        ("new", timedelta(minutes=5), False, "hold"),
    )
    facts = _facts(path)
    assert facts.oldest_open is not None and facts.oldest_open.id == "lost"
    english = judge_store(facts, now=NOW, max_hours=24, config="c.toml", lang="en")
    assert english.verdict is Verdict.WARNING
    assert "(lost) was interrupted and its outcome was never seen" in english.detail
    assert "2026-11-23 12:30 Tehran" in english.detail
    assert "Never redo this sale" in english.advice
    assert "`pos-client recover --config c.toml`" in english.advice
    persian = judge_store(facts, now=NOW, max_hours=24, config="c.toml", lang="fa")
    assert "(شناسه lost) ناتمام ماند" in persian.detail
    assert "۱۴۰۵/۰۹/۰۲ ۱۲:۳۰" in persian.detail
    assert "`pos-client recover --config c.toml`" in persian.advice


def test_a_held_sale_without_an_answer_for_a_day_is_named_once(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite"
    _store(path, ("held", timedelta(hours=30), True, "hold"))
    check = judge_store(_facts(path), now=NOW, max_hours=48, config="c.toml", lang="en")
    assert check.verdict is Verdict.WARNING
    assert "(held) still has no final answer from the ledger" in check.detail
    assert "`pos-client queue sync --config c.toml`" in check.advice
    persian = judge_store(_facts(path), now=NOW, max_hours=48, config="c.toml", lang="fa")
    assert "(شناسه held) هنوز پاسخ نهایی از سامانه نگرفته است" in persian.detail
    # Open for hours only: not named; owed and over the stuck bound: named by that finding only.
    young = tmp_path / "young.sqlite"
    _store(young, ("new", timedelta(hours=20), True, "hold"))
    check = judge_store(_facts(young), now=NOW, max_hours=48, config="c", lang="en")
    assert check.verdict is Verdict.OK and "(new)" not in check.detail
    owed = tmp_path / "owed.sqlite"
    _store(owed, ("owed", timedelta(days=2), True, "deliver"))
    check = judge_store(_facts(owed), now=NOW, max_hours=96, config="c", lang="en")
    assert check.verdict is Verdict.FAILED
    assert "(owed)" not in check.detail
    assert "no final answer from the ledger for over 6 hours" in check.detail
