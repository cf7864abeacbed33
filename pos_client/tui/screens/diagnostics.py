"""Diagnostics: the lane doctor's checks (config, store, ledger, rules, catalog, devices),
each with a plain verdict and what to do."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding

from pos_client.services.doctor import Check, Report, Verdict
from pos_client.services.doctor_texts import label

from ..rtl import isolate_latin
from ..widgets.table import BidiTable, Column
from ..widgets.text import BidiText
from .base import PosScreen

__all__ = ["DiagnosticsScreen"]

DIAG_COLUMNS = (
    Column("check", "diag.col.check", width=14),
    Column("verdict", "diag.col.verdict", width=7),
    Column("detail", "diag.col.detail", width=48),
)

_VERDICT_KEYS = {Verdict.OK: "diag.ok", Verdict.WARNING: "diag.warn", Verdict.FAILED: "diag.fail"}
_STYLES = {Verdict.OK: "", Verdict.WARNING: "yellow", Verdict.FAILED: "bold red"}


class DiagnosticsScreen(PosScreen[None]):
    TITLE_KEY = "diag.title"
    BINDINGS: ClassVar = [
        Binding("f2", "run", "key.refresh", key_display="F2"),
        Binding("escape", "close", "key.back", key_display="Esc"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.checks: list[Check] = []

    def compose_body(self) -> ComposeResult:
        yield BidiTable(DIAG_COLUMNS, id="diagnostics", fit_width=True)
        yield BidiText("", id="advice", classes="hint")

    def on_mount(self) -> None:
        super().on_mount()
        self.action_run()

    def _doctor_config(self) -> object:
        # The lane's own scanners are held open by this screen's App: the doctor
        # would find them busy, so their state comes from the App instead.
        config = self.pos.lane.config
        return replace(config, devices=replace(config.devices, scanners=()))

    def action_run(self) -> None:
        from pos_client.compose import build_doctor

        self.checks = []
        self._show()
        doctor = build_doctor(
            self._doctor_config(),  # type: ignore[arg-type]
            lang=self.texts.lang,
            runtime_dir=str(self.pos.runtime_dir) if self.pos.runtime_dir else None,
            held_scale=self.pos.scale,  # the App holds it open: asked through it
        )

        def seen(check: Check) -> None:
            if check.name == "scanner":
                return  # replaced by the App's own view of its scanners
            self.checks.append(check)
            self._show()

        async def call() -> Report:
            return await doctor.run(on_check=seen)

        self.run_service(call, done=lambda _report: self._done(), busy=self.t("diag.running"))

    def _done(self) -> None:
        self.say("")
        self._show()

    def _scanner_rows(self) -> list[tuple[str, list[str]]]:
        texts = self.texts
        rows = []
        state = self.pos.scanner_state
        verdict = Verdict.OK if state in ("connected", "keyboard", "none") else Verdict.FAILED
        key = {
            "connected": "scanner.connected",
            "keyboard": "scanner.keyboard",
            "none": "scanner.none",
        }.get(state, "scanner.disconnected")
        detail = texts.t(key)
        if self.pos.scanner_urls:
            detail += " " + texts.value(", ".join(self.pos.scanner_urls))
        rows.append(
            ("scanner", [label("scanner", texts.lang), texts.t(_VERDICT_KEYS[verdict]), detail])
        )
        return rows

    def _show(self) -> None:
        texts = self.texts
        rows = [
            (
                f"{index}:{check.name}",
                [
                    label(check.name, texts.lang),
                    texts.t(_VERDICT_KEYS[check.verdict]),
                    isolate_latin(check.detail),
                ],
            )
            for index, check in enumerate(self.checks)
        ]
        styles = [_STYLES[check.verdict] for check in self.checks]
        rows += self._scanner_rows()
        self.query_one("#diagnostics", BidiTable).set_rows(rows, styles=styles)
        self._advise()

    def on_data_table_row_highlighted(self, _event: object) -> None:
        self._advise()

    def _advise(self) -> None:
        key = self.query_one("#diagnostics", BidiTable).selected_key
        advice = ""
        if key and ":" in key and key.split(":", 1)[0].isdigit():
            index = int(key.split(":", 1)[0])
            if index < len(self.checks):
                check = self.checks[index]
                advice = "\n".join(
                    isolate_latin(part) for part in (check.detail, check.advice) if part
                )
        self.query_one("#advice", BidiText).text = advice

    def action_close(self) -> None:
        self.dismiss(None)
