"""The device checks: every scanner opened (and listened to, on request), the printer asked
for its status (and a test page printed, on request), the scale asked for a weight once.

The ``judge_*`` functions are pure; :class:`DeviceDoctor` opens the devices
through :class:`DeviceOpeners` (the drivers, or fakes in unit tests). Scans
other than product codes are shown masked (:func:`mask_scan`).

Imports the standard library, the config, the domain, the project's errors
and the doctor's texts; the drivers are handed in.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from pos_client.config import TerminalConfig
from pos_client.domain.barcodes import PurchaseCodeScan, TokenScan, classify_scan
from pos_client.domain.national_id import mask_national_id
from pos_client.errors import DeviceError
from pos_client.ports import Clock
from pos_client.services.doctor.base import (
    Check,
    Finding,
    OnListen,
    OnSeen,
    SeenScan,
    Verdict,
    combine,
    device_check,
    internal_check,
    seconds_text,
    short_url,
    when,
)
from pos_client.services.doctor.causes import cause
from pos_client.services.doctor_texts import Lang, say

__all__ = [
    "SCANNER_OPEN_SECONDS",
    "DeviceDoctor",
    "DeviceOpeners",
    "judge_printer",
    "judge_scale",
    "mask_scan",
]

log = logging.getLogger(__name__)

#: How long a scanner may take to open (or to say it cannot).
SCANNER_OPEN_SECONDS: Final = 5.0
#: Device URL errors that mean "fix the config" rather than "check the device".
_BAD_URL_CODES: Final = frozenset({"device_url_invalid", "printer_config", "printer_font"})
#: Scans shown in full; every other kind (national ID, token, purchase code, unknown) is masked.
_SHOWN_KINDS: Final = frozenset({"product", "variable_measure", "gs1"})


def mask_scan(data: str) -> tuple[str, str]:
    """``(kind, text to show)`` for a scan: product codes in full, anything else masked.

    A national ID (or anything unknown) shows its first 3 and last 2 characters
    (``049*****99``), a token ``KB1.`` and its last 4 characters (``KB1....x9Zq``), a purchase
    code its last 2 digits only (it is 8 digits: more would narrow a guess).
    """
    scan = classify_scan(data)
    if scan.kind in _SHOWN_KINDS:
        return scan.kind, data
    if isinstance(scan, TokenScan):
        return scan.kind, f"{scan.token[:4]}...{scan.token[-4:]}"
    if isinstance(scan, PurchaseCodeScan):
        return scan.kind, "*" * (len(scan.code) - 2) + scan.code[-2:]
    return scan.kind, mask_national_id(data)


@dataclass(frozen=True, slots=True)
class DeviceOpeners:
    """How to open each kind of device from its URL (the drivers, or fakes in unit tests).

    ``open_scanner(url, on_scan=..., on_state=...)`` returns a scanner with
    ``start()``/``stop()``; ``open_printer(url)`` one with ``status()``,
    ``print_test_page(rows=...)`` and ``close()``; ``open_scale(url)`` an open
    scale with ``read_once()`` and ``close()``. Each raises a
    :class:`~pos_client.errors.DeviceError` when it cannot.
    """

    open_scanner: Callable[..., Any]
    open_printer: Callable[[str], Any]
    open_scale: Callable[[str], Any]


def _device_error(
    name: str, url: str, exc: DeviceError, *, key: str, config: str, lang: Lang, missing: str
) -> Check:
    """A device error in words: a bad URL, a device in use, or one not there."""
    short = short_url(url)
    if exc.code in _BAD_URL_CODES:
        message = exc.message if lang == "en" else say(lang, "cause.bad_url")
        return Check(
            name,
            Verdict.FAILED,
            say(lang, "device.bad_url", message=message),
            say(lang, "device.bad_url.advice", key=key, config=config),
        )
    if exc.code == "device_busy":
        return device_check(name, Verdict.WARNING, lang, "device.busy", short)
    return Check(
        name,
        Verdict.FAILED,
        say(lang, missing, url=short, why=cause(exc.message, lang)),
        say(lang, missing + ".advice", config=config),
    )


def judge_printer(name: str, url: str, status: Any, *, printed: bool, lang: Lang) -> Check:
    """A printer's real-time status (``online``, ``paper``) in words (pure)."""
    short = short_url(url)
    paper = str(getattr(getattr(status, "paper", None), "value", "unknown"))
    online = getattr(status, "online", None)
    if paper == "out":
        return device_check(name, Verdict.FAILED, lang, "printer.paper_out", short)
    if online is False:
        return device_check(name, Verdict.FAILED, lang, "printer.offline", short)
    if printed:
        detail = say(lang, "printer.printed", url=short)
    elif paper == "unknown":
        detail = say(lang, "printer.ok_unknown", url=short)
    else:
        detail = say(lang, "printer.ok", url=short)
        if paper == "ok":
            detail += say(lang, "printer.paper_ok")
    if short.startswith("dummy:"):
        detail += say(lang, "printer.virtual")
    findings = [Finding(Verdict.OK, detail)]
    if paper == "low":
        findings.append(
            Finding(
                Verdict.WARNING,
                say(lang, "printer.paper_low", url=short),
                say(lang, "printer.paper_low.advice"),
            )
        )
    return combine(name, findings, lang)


def judge_scale(name: str, url: str, reading: Any, *, lang: Lang) -> Check:
    """One answer from a scale (``grams``, ``status``) in words (pure)."""
    short = short_url(url)
    grams = getattr(reading, "grams", None)
    if grams is not None:
        return Check(name, Verdict.OK, say(lang, "scale.ok", url=short, grams=int(grams)))
    status = getattr(reading, "status", None)
    if getattr(status, "over_capacity", False):
        return device_check(
            name, Verdict.WARNING, lang, "scale.over", short, advice="scale.zero.advice"
        )
    if getattr(status, "under_zero", False):
        return device_check(
            name, Verdict.WARNING, lang, "scale.under", short, advice="scale.zero.advice"
        )
    return device_check(name, Verdict.WARNING, lang, "scale.motion", short)


class DeviceDoctor:
    """Opens each configured device and says how it is (never raises)."""

    def __init__(
        self,
        devices: DeviceOpeners,
        *,
        lang: Lang,
        config_path: str,
        terminal: TerminalConfig,
        clock: Clock,
        scanner_open_seconds: float = SCANNER_OPEN_SECONDS,
    ) -> None:
        self.devices = devices
        self.lang: Lang = lang
        self.config_path = config_path
        self.terminal = terminal
        self.clock = clock
        self.scanner_open_seconds = scanner_open_seconds

    def _internal(self, name: str, exc: BaseException) -> Check:
        return internal_check(name, exc, self.lang)

    def _safely(self, name: str, work: Callable[[], Check]) -> Check:
        try:
            return work()
        except Exception as exc:  # the doctor never crashes: a broken check is a failed check
            log.debug("doctor: the %s check failed", name, exc_info=True)
            return self._internal(name, exc)

    def check_scanner(
        self,
        url: str,
        *,
        scan_seconds: float = 0.0,
        on_scan: OnSeen | None = None,
        on_listen: OnListen | None = None,
    ) -> tuple[Check, list[SeenScan]]:
        """Open a scanner, wait until it is connected (or says why not), listen if asked."""
        name = f"scanner:{short_url(url)}"
        seen: list[SeenScan] = []
        try:
            return self._scanner(name, url, scan_seconds, on_scan, on_listen, seen), seen
        except Exception as exc:
            log.debug("doctor: the %s check failed", name, exc_info=True)
            return self._internal(name, exc), seen

    def _scanner(
        self,
        name: str,
        url: str,
        scan_seconds: float,
        on_scan: OnSeen | None,
        on_listen: OnListen | None,
        seen: list[SeenScan],
    ) -> Check:
        lang, config, short = self.lang, self.config_path, short_url(url)
        events: queue.Queue[Any] = queue.Queue()
        key = "devices.scanners"
        try:
            scanner = self.devices.open_scanner(url, on_scan=events.put, on_state=events.put)
        except DeviceError as exc:
            return _device_error(
                name, url, exc, key=key, config=config, lang=lang, missing="scanner.missing"
            )
        try:
            try:
                scanner.start()
            except DeviceError as exc:
                return _device_error(
                    name, url, exc, key=key, config=config, lang=lang, missing="scanner.missing"
                )
            state = self._first_state(events)
            if state is None:
                return Check(
                    name,
                    Verdict.FAILED,
                    say(lang, "scanner.timeout", url=short, seconds=int(self.scanner_open_seconds)),
                    say(lang, "scanner.missing.advice", config=config),
                )
            if str(state.status) != "connected":
                why = str(getattr(state, "detail", "") or state.status)
                if "in use" in why:
                    return device_check(name, Verdict.WARNING, lang, "device.busy", short)
                return Check(
                    name,
                    Verdict.FAILED,
                    say(lang, "scanner.missing", url=short, why=cause(why, lang)),
                    say(lang, "scanner.missing.advice", config=config),
                )
            if scan_seconds <= 0:
                return Check(name, Verdict.OK, say(lang, "scanner.ok", url=short))
            if on_listen is not None:
                try:
                    on_listen(short, scan_seconds)
                except Exception:
                    log.warning("doctor: announcing the listening failed", exc_info=True)
            lost = self._listen(events, scan_seconds, on_scan, seen)
        finally:
            scanner.stop()
        seconds = seconds_text(scan_seconds)
        if lost is not None:
            return Check(
                name,
                Verdict.FAILED,
                say(lang, "scanner.lost", url=short, why=cause(lost, lang)),
                say(lang, "scanner.missing.advice", config=config),
            )
        if not seen:
            return Check(
                name,
                Verdict.WARNING,
                say(lang, "scanner.no_scans", url=short, seconds=seconds),
                say(lang, "scanner.no_scans.advice"),
            )
        return Check(
            name,
            Verdict.OK,
            say(lang, "scanner.scans", url=short, count=len(seen), seconds=seconds),
        )

    def _first_state(self, events: queue.Queue[Any]) -> Any | None:
        """The first state past "connecting" (connected, or disconnected and why), or None."""
        deadline = time.monotonic() + self.scanner_open_seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                event = events.get(timeout=remaining)
            except queue.Empty:
                return None
            status = getattr(event, "status", None)
            if status is not None and str(status) != "connecting":
                return event

    def _listen(
        self,
        events: queue.Queue[Any],
        seconds: float,
        on_scan: OnSeen | None,
        seen: list[SeenScan],
    ) -> str | None:
        """Collect scans for ``seconds``; return why the scanner was lost, if it was."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = events.get(timeout=remaining)
            except queue.Empty:
                break
            status = getattr(event, "status", None)
            if status is not None:
                if str(status) == "disconnected":
                    return str(getattr(event, "detail", "") or status)
                continue
            kind, text = mask_scan(str(event.data))
            scan = SeenScan(
                source=str(event.source),
                kind=kind,
                text=text,
                symbology=event.symbology,
                at=event.received_at,
            )
            seen.append(scan)
            if on_scan is not None:
                try:
                    on_scan(scan)
                except Exception:
                    log.warning("doctor: showing a scan failed", exc_info=True)
        return None

    def check_printer(self, url: str, *, print_test: bool = False) -> Check:
        """Ask the printer for its status; print a test page if asked and it is ready."""
        name = f"printer:{short_url(url)}"
        return self._safely(name, lambda: self._printer(name, url, print_test))

    def _printer(self, name: str, url: str, print_test: bool) -> Check:
        lang, config, short = self.lang, self.config_path, short_url(url)

        def failed(exc: DeviceError) -> Check:
            return _device_error(
                name,
                url,
                exc,
                key="devices.printer",
                config=config,
                lang=lang,
                missing="printer.unreachable",
            )

        try:
            printer = self.devices.open_printer(url)
        except DeviceError as exc:
            return failed(exc)
        try:
            try:
                status = printer.status()
            except DeviceError as exc:
                return failed(exc)
            verdict = judge_printer(name, url, status, printed=False, lang=lang)
            if not print_test or verdict.verdict is Verdict.FAILED:
                return verdict
            try:
                printer.print_test_page(rows=self._test_rows())
            except DeviceError as exc:
                return Check(
                    name,
                    Verdict.FAILED,
                    say(lang, "printer.failed", url=short, why=cause(exc.message, lang)),
                    say(lang, "printer.unreachable.advice"),
                )
            return judge_printer(name, url, status, printed=True, lang=lang)
        finally:
            try:
                printer.close()
            except DeviceError:
                log.debug("doctor: the printer did not close cleanly", exc_info=True)

    def _test_rows(self) -> tuple[tuple[str, str], ...]:
        terminal = self.terminal
        rows = [("پایانه", terminal.id)]
        if terminal.shop_name:
            rows.append(("فروشگاه", terminal.shop_name))
        rows.append(("زمان", when(self.clock.now(), "fa")))
        return tuple(rows)

    def check_scale(self, url: str) -> Check:
        """Ask the scale once for its weight."""
        name = f"scale:{short_url(url)}"
        return self._safely(name, lambda: self._scale(name, url))

    def _scale(self, name: str, url: str) -> Check:
        lang, config = self.lang, self.config_path

        def failed(exc: DeviceError) -> Check:
            return _device_error(
                name,
                url,
                exc,
                key="devices.scale",
                config=config,
                lang=lang,
                missing="scale.missing",
            )

        try:
            scale = self.devices.open_scale(url)
        except DeviceError as exc:
            return failed(exc)
        try:
            try:
                reading = scale.read_once()
            except DeviceError as exc:
                return failed(exc)
            return judge_scale(name, url, reading, lang=lang)
        finally:
            try:
                scale.close()
            except DeviceError:
                log.debug("doctor: the scale did not close cleanly", exc_info=True)
