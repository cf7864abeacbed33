"""The lane doctor: runs every check in order and collects the report.

Imports the standard library, the config, the ports and the doctor's own
modules; the ledger, the store and the devices are handed in (see
:func:`pos_client.compose.build_doctor`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path

from pos_client.config import Config
from pos_client.ports import Clock
from pos_client.services.doctor.base import (
    Check,
    OnCheck,
    OnListen,
    OnSeen,
    Report,
    SeenScan,
    Verdict,
    internal_check,
)
from pos_client.services.doctor.config import config_mode, judge_config
from pos_client.services.doctor.devices import (
    SCANNER_OPEN_SECONDS,
    DeviceDoctor,
    DeviceOpeners,
)
from pos_client.services.doctor.ledger import (
    DoctorLedger,
    LedgerFacts,
    gather_ledger,
    judge_clock,
    judge_ledger,
    judge_token,
)
from pos_client.services.doctor.rules import judge_catalog, judge_rules
from pos_client.services.doctor.store import DoctorStore, StoreFacts, gather_store, judge_store
from pos_client.services.doctor.telemetry import TelemetryFacts, judge_telemetry
from pos_client.services.doctor.terminal_config import judge_terminal_config
from pos_client.services.doctor_texts import Lang, say

__all__ = ["Doctor"]

log = logging.getLogger(__name__)


class Doctor:
    """Runs the checks for one lane. Build it with :func:`pos_client.compose.build_doctor`."""

    def __init__(
        self,
        config: Config,
        *,
        lang: Lang,
        clock: Clock,
        open_ledger: Callable[[], DoctorLedger],
        open_store: Callable[[], DoctorStore],
        devices: DeviceOpeners,
        scanner_open_seconds: float = SCANNER_OPEN_SECONDS,
        check_store: Callable[[], object] | None = None,
        probe_telemetry: Callable[[], TelemetryFacts | None] | None = None,
    ) -> None:
        self.config = config
        self.lang: Lang = lang
        self.clock = clock
        self._open_ledger = open_ledger
        self._open_store = open_store
        self._check_store = check_store
        self._probe_telemetry = probe_telemetry
        self.devices = devices
        self.scanner_open_seconds = scanner_open_seconds

    @property
    def config_path(self) -> str:
        return str(self.config.source) if self.config.source else "FILE"

    def _internal(self, name: str, exc: BaseException) -> Check:
        return internal_check(name, exc, self.lang)

    def _safely(self, name: str, work: Callable[[], Check]) -> Check:
        try:
            return work()
        except Exception as exc:  # the doctor never crashes: a broken check is a failed check
            log.debug("doctor: the %s check failed", name, exc_info=True)
            return self._internal(name, exc)

    # ------------------------------------------------------------------ config

    def check_config(self) -> Check:
        return self._safely(
            "config",
            lambda: judge_config(self.config, mode=config_mode(self.config), lang=self.lang),
        )

    # ------------------------------------------------------------------ store

    def gather_store(self) -> StoreFacts:
        """Open the store read-only and read what the checks need (never writes)."""
        return gather_store(
            Path(self.config.store.path),
            open_store=self._open_store,
            config_keys=self.config.ledger.trusted_keys,
            check_store=self._check_store,
        )

    def check_store(self, facts: StoreFacts) -> Check:
        return self._safely(
            "store",
            lambda: judge_store(
                facts,
                now=self.clock.now(),
                max_hours=self.config.offline.max_hours_since_contact,
                config=self.config_path,
                lang=self.lang,
                stuck_after=timedelta(hours=self.config.ledger.stuck_after_hours),
            ),
        )

    # ------------------------------------------------------------------ ledger

    async def gather_ledger(self, *, lane_keys: Mapping[str, bytes] | None = None) -> LedgerFacts:
        """Ask the ledger for its health and its rules; translate every failure into facts.

        The ledger's rules are checked with the config's keys and ``lane_keys``,
        the keys the lane trusts now (:attr:`StoreFacts.trusted_keys`: never a
        withdrawn one).
        """
        return await gather_ledger(
            self._open_ledger,
            url=self.config.ledger.url,
            trusted_keys=self.config.ledger.trusted_keys,
            lane_keys=lane_keys,
        )

    def judge_ledger_checks(self, store: StoreFacts | None, facts: LedgerFacts) -> list[Check]:
        now = self.clock.now()
        config = self.config_path
        lang = self.lang
        checks = [judge_ledger(facts, config=config, lang=lang)]
        if facts.time is not None:
            checks.append(judge_clock(facts.time, now=now, lang=lang))
        checks.append(
            judge_token(facts, terminal=self.config.terminal.id, config=config, lang=lang)
        )
        checks.append(judge_rules(store, facts, now=now, config=config, lang=lang))
        checks.append(judge_catalog(store, facts, config=config, lang=lang))
        return checks

    # ------------------------------------------------------------------ devices

    def _device_doctor(self) -> DeviceDoctor:
        return DeviceDoctor(
            self.devices,
            lang=self.lang,
            config_path=self.config_path,
            terminal=self.config.terminal,
            clock=self.clock,
            scanner_open_seconds=self.scanner_open_seconds,
        )

    def check_scanner(
        self,
        url: str,
        *,
        scan_seconds: float = 0.0,
        on_scan: OnSeen | None = None,
        on_listen: OnListen | None = None,
    ) -> tuple[Check, list[SeenScan]]:
        """Open a scanner, wait until it is connected (or says why not), listen if asked."""
        return self._device_doctor().check_scanner(
            url, scan_seconds=scan_seconds, on_scan=on_scan, on_listen=on_listen
        )

    def check_printer(self, url: str, *, print_test: bool = False) -> Check:
        """Ask the printer for its status; print a test page if asked and it is ready."""
        return self._device_doctor().check_printer(url, print_test=print_test)

    def check_scale(self, url: str) -> Check:
        """Ask the scale once for its weight."""
        return self._device_doctor().check_scale(url)

    # ------------------------------------------------------------------ everything

    async def run(
        self,
        *,
        print_test: bool = False,
        scan_seconds: float = 0.0,
        on_check: OnCheck | None = None,
        on_scan: OnSeen | None = None,
        on_listen: OnListen | None = None,
        devices: bool = True,
    ) -> Report:
        """Run every check in order; ``on_check`` sees each one as soon as it is done.

        ``devices=False`` leaves the devices out (a running checkout holds them
        and shows their state itself).
        """
        checks: list[Check] = []
        scans: list[SeenScan] = []

        def add(check: Check) -> None:
            checks.append(check)
            if on_check is not None:
                try:
                    on_check(check)
                except Exception:
                    log.warning("doctor: showing a check failed", exc_info=True)

        add(self.check_config())

        store: StoreFacts | None
        try:
            store = await asyncio.to_thread(self.gather_store)
        except Exception as exc:
            log.debug("doctor: the store check failed", exc_info=True)
            store = None
            add(self._internal("store", exc))
        if store is not None:
            add(self.check_store(store))
            layered = judge_terminal_config(store, config=self.config_path, lang=self.lang)
            if layered is not None:
                add(layered)

        ledger_checks = await self._ledger_checks(store)
        for check in ledger_checks:
            add(check)
        if self._probe_telemetry is not None:
            probe = self._probe_telemetry
            try:
                facts = await asyncio.to_thread(probe)
                told = judge_telemetry(facts, config=self.config_path, lang=self.lang)
            except Exception as exc:
                log.debug("doctor: the telemetry check failed", exc_info=True)
                told = self._internal("telemetry", exc)
            if told is not None:
                add(told)

        if devices:
            await self._device_checks(add, scans, print_test, scan_seconds, on_scan, on_listen)
        return Report(tuple(checks), tuple(scans))

    async def _device_checks(
        self,
        add: OnCheck,
        scans: list[SeenScan],
        print_test: bool,
        scan_seconds: float,
        on_scan: OnSeen | None,
        on_listen: OnListen | None,
    ) -> None:
        devices = self.config.devices
        if not devices.scanners:
            add(Check("scanner", Verdict.OK, say(self.lang, "scanner.none")))
        for url in devices.scanners:
            check, seen = await asyncio.to_thread(
                self.check_scanner,
                url,
                scan_seconds=scan_seconds,
                on_scan=on_scan,
                on_listen=on_listen,
            )
            scans.extend(seen)
            add(check)
        if devices.printer:
            add(await asyncio.to_thread(self.check_printer, devices.printer, print_test=print_test))
        else:
            add(
                Check(
                    "printer",
                    Verdict.WARNING,
                    say(self.lang, "printer.none"),
                    say(self.lang, "printer.none.advice", config=self.config_path),
                )
            )
        if devices.scale:
            add(await asyncio.to_thread(self.check_scale, devices.scale))

    async def _ledger_checks(self, store: StoreFacts | None) -> list[Check]:
        try:
            facts = await self.gather_ledger(
                lane_keys=store.trusted_keys if store is not None else None
            )
        except Exception as exc:
            log.debug("doctor: the ledger check failed", exc_info=True)
            return [self._internal("ledger", exc)]
        try:
            return self.judge_ledger_checks(store, facts)
        except Exception as exc:
            log.debug("doctor: the rules check failed", exc_info=True)
            return [self._internal("rules", exc)]
