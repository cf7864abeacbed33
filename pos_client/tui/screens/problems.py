"""The problems list: sales the ledger declined (or paid in part) after an offline approval,
and what the shop must collect from the household for each."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding

from pos_client.services.records import ProblemSale

from ..widgets.table import BidiTable, Column
from ..widgets.text import BidiText
from .base import PosScreen

__all__ = ["ProblemsScreen"]

PROBLEM_COLUMNS = (
    Column("time", "problems.col.time", width=16),
    Column("receipt", "problems.col.receipt", width=14),
    Column("status", "problems.col.status", width=16),
    Column("collect", "problems.col.collect", width=14, numeric=True),
)


class ProblemsScreen(PosScreen[None]):
    TITLE_KEY = "problems.title"
    BINDINGS: ClassVar = [
        Binding("f2", "handled", "key.handled", key_display="F2"),
        Binding("escape", "close", "key.back", key_display="Esc"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._rows: dict[str, ProblemSale] = {}

    def compose_body(self) -> ComposeResult:
        yield BidiText(self.t("problems.hint"), classes="hint")
        yield BidiTable(PROBLEM_COLUMNS, id="problems", fit_width=True)
        yield BidiText("", id="problem-detail", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self.load()

    def load(self) -> None:
        records = self.pos.lane.records

        async def call() -> list[ProblemSale]:
            return await asyncio.to_thread(records.open_problems)

        self.run_service(call, done=self._show)

    def _show(self, rows: list[ProblemSale]) -> None:
        texts = self.texts
        table_rows = []
        for row in rows:
            problem, entry = row.problem, row.sale
            kind_key = f"problem.kind.{problem.kind}"
            kind = texts.t(kind_key) if texts.has(kind_key) else problem.kind
            code = entry.receipt_code if entry is not None and entry.receipt_code else "—"
            table_rows.append(
                (
                    str(problem.seq),
                    [
                        texts.datetime(problem.created_at),
                        texts.code(code),
                        kind,
                        texts.amount(problem.collect_rial, with_unit=False),
                    ],
                )
            )
        self.query_one("#problems", BidiTable).set_rows(table_rows)
        self._rows = {str(r.problem.seq): r for r in rows}
        if not rows:
            self.say(texts.t("problems.empty"), "ok")
        self._describe()

    def on_data_table_row_highlighted(self, _event: object) -> None:
        self._describe()

    def _describe(self) -> None:
        texts = self.texts
        key = self.query_one("#problems", BidiTable).selected_key
        row = self._rows.get(key) if key else None
        detail = ""
        if row is not None:
            entry = row.sale
            parts = []
            if entry is not None and entry.display_name:
                parts.append(entry.display_name)
            if entry is not None and entry.nid_masked:
                parts.append(texts.digits(entry.nid_masked))
            if entry is not None and entry.reason:
                parts.append(texts.t("result.reason", reason=texts.reason(entry.reason)))
            parts.append(texts.t("result.collect", amount=texts.amount(row.problem.collect_rial)))
            detail = " · ".join(parts)
        self.query_one("#problem-detail", BidiText).text = detail

    def action_handled(self) -> None:
        key = self.query_one("#problems", BidiTable).selected_key
        if key is None:
            self.say(self.t("problems.empty"), "ok")
            return
        records = self.pos.lane.records

        async def call() -> bool:
            return await asyncio.to_thread(records.resolve_problem, int(key))

        def done(_: bool) -> None:
            self.say(self.t("problems.handled"), "ok")
            self.load()

        self.run_service(call, done=done)

    def action_close(self) -> None:
        self.dismiss(None)
