"""The central ledger over HTTPS (httpx, async): the one place HTTP meets the program.

Every answer is checked before anything is believed, and every failure is
translated here, once, into the project's error tree:

    what happened                                   reads          redemption POSTs
    connect error / connect or pool timeout         Unavailable    Unavailable (never sent)
    timeout, dropped connection after sending       Unavailable    UnknownOutcome
    429 (+ Retry-After)                             Unavailable    Unavailable (not processed)
    503 (+ Retry-After), other 5xx                  Unavailable    UnknownOutcome
    4xx with a problem document                     Rejected(status, code)
    anything malformed or unexpected                Unavailable    UnknownOutcome

``LedgerUnavailable`` means nothing was recorded and it is safe to try again;
``UnknownOutcome`` means the ledger may have committed the request: resolve it
with :meth:`HttpLedger.get_redemption` (a ``404 not_found`` problem, and only
that, means it never arrived). Plain ``http://`` is refused unless the host is
loopback; TLS verification is always on. The bearer token, tokens and national
IDs are never logged.

Imports httpx, the standard library, the domain's contract readers and the
project's errors; knows nothing of the store or the services.
"""

from __future__ import annotations

import email.utils
import logging
import math
import time
from collections.abc import Callable, Container, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, BinaryIO, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from pos_client import __version__
from pos_client.config import LedgerConfig, is_loopback_host
from pos_client.domain.contract import dump_json, load_json, parse_time, parse_wallet
from pos_client.domain.errors import ContractError
from pos_client.domain.models import Wallet
from pos_client.domain.redemption import (
    BatchItemResult,
    Identity,
    OtpChallenge,
    ProblemDocument,
    RedemptionAnswer,
    Settlement,
    VoidAnswer,
    parse_otp_challenge,
    parse_problem,
    parse_redemption_answer,
    parse_settlement,
    parse_void_answer,
)
from pos_client.errors import (
    TERMINAL_REVOKED_SENTENCE,
    ConfigError,
    LedgerRejected,
    LedgerUnavailable,
    UnknownOutcome,
)
from pos_client.ports import CatalogDownload, SignedDocument

__all__ = [
    "MAX_JSON_BYTES",
    "HttpLedger",
    "ServerTimeListener",
    "parse_http_date",
    "parse_retry_after",
]

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Largest JSON answer read (a batch of 100 answers fits many times over).
MAX_JSON_BYTES = 16 * 1024 * 1024
#: The resolution of the ledger's time in a ``Date`` header or ``/v1/health``'s ``time``.
SERVER_TIME_RESOLUTION = timedelta(seconds=1)
#: Longest wait a Retry-After may ask for (seconds); longer values are clamped.
MAX_RETRY_AFTER = 3600.0
_JSON_TYPES = ("application/json", "application/problem+json")


def _item_retry_after(item: dict[str, object]) -> float | None:
    """The ``Retry-After`` of a batch item (its ``headers`` member, names in any case)."""
    headers = item.get("headers")
    if not isinstance(headers, dict):
        return None
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == "retry-after":
            if type(value) is int:  # tolerant: a number of seconds as a JSON number
                value = str(value)
            return parse_retry_after(value) if isinstance(value, str) else None
    return None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now or datetime.now(UTC)
    seconds = (when - reference).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def parse_http_date(value: str | None) -> datetime | None:
    """The time in a ``Date`` header (RFC 9110 IMF-fixdate, or the obsolete forms), or ``None``."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or not 2000 <= when.year <= 9000:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


#: Told the ledger's time at an answer: ``(server time, round trip in seconds, resolution)``.
ServerTimeListener = Callable[[datetime, float, timedelta], object]


def _check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("ledger.url: must be an https:// URL with a host", key="ledger.url")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError("ledger.url: must be https unless the host is loopback", key="ledger.url")
    return url if url.endswith("/") else url + "/"


class _Answer:
    """A response read in full (bounded), with its status and headers."""

    def __init__(self, response: httpx.Response, body: bytes, round_trip: float = 0.0) -> None:
        self.round_trip = round_trip
        self.status = response.status_code
        self.headers = response.headers
        self.body = body

    @property
    def is_json(self) -> bool:
        ctype = self.headers.get("content-type", "").split(";")[0].strip().lower()
        return ctype in _JSON_TYPES

    def json(self) -> Any:
        if not self.is_json:
            raise ContractError("malformed", "the answer is not JSON")
        return load_json(self.body)

    def problem(self) -> ProblemDocument | None:
        """The problem document of a 4xx/5xx answer, or ``None`` when it is not one."""
        try:
            return parse_problem(self.json(), http_status=self.status)
        except ContractError:
            return None

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))


class HttpLedger:
    """The ledger client. One instance per process; close it with :meth:`aclose`."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        on_contact: Callable[[], None] | None = None,
        on_server_time: ServerTimeListener | None = None,
        token_source: Callable[[], str] | None = None,
        on_revoked: Callable[[], None] | None = None,
    ) -> None:
        self.base_url = _check_base_url(base_url)
        # Asked before each request: a token rotated by another process is picked up.
        self._token_source = token_source
        self._on_revoked = on_revoked
        host = urlsplit(self.base_url).hostname or ""
        self._on_contact = on_contact
        self._on_server_time = on_server_time
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {token}",
                "User-Agent": f"pos-client/{__version__}",
                "Accept": "application/json, application/problem+json",
            },
            timeout=httpx.Timeout(
                connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
            ),
            transport=transport,
            verify=True,
            follow_redirects=False,
            trust_env=not is_loopback_host(host),
        )

    @classmethod
    def from_config(
        cls,
        config: LedgerConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        on_contact: Callable[[], None] | None = None,
        on_server_time: ServerTimeListener | None = None,
        token_source: Callable[[], str] | None = None,
        on_revoked: Callable[[], None] | None = None,
    ) -> HttpLedger:
        return cls(
            base_url=config.url,
            token=config.token,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            transport=transport,
            on_contact=on_contact,
            on_server_time=on_server_time,
            token_source=token_source,
            on_revoked=on_revoked,
        )

    def use_token(self, token: str) -> None:
        """Send ``token`` from the next request on (a rotation; requests in flight keep theirs)."""
        self._client.headers["Authorization"] = f"Bearer {token}"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpLedger:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ transport

    def _contact(self) -> None:
        if self._on_contact is not None:
            try:
                self._on_contact()
            except Exception:
                log.warning("could not record the last contact with the ledger", exc_info=True)

    def _revoked(self) -> None:
        if self._on_revoked is not None:
            try:
                self._on_revoked()
            except Exception:
                log.warning("could not record that the terminal was revoked", exc_info=True)

    def _server_time(self, when: datetime | None, round_trip: float) -> None:
        """Tell the listener the ledger's time at an answer (never fails the request)."""
        if when is None or self._on_server_time is None:
            return
        try:
            self._on_server_time(when, round_trip, SERVER_TIME_RESOLUTION)
        except Exception:
            log.warning("could not record the ledger's time", exc_info=True)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        may_commit: bool = False,
        what: str,
    ) -> _Answer:
        """Send one request and read its answer in full (bounded); translate transport failures."""
        request_headers = dict(headers or {})
        if self._token_source is not None:
            request_headers["Authorization"] = f"Bearer {self._token_source()}"
        if body is not None:
            request_headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            async with self._client.stream(
                method, path, content=body, headers=request_headers
            ) as response:
                round_trip = time.monotonic() - started
                self._server_time(parse_http_date(response.headers.get("date")), round_trip)
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_JSON_BYTES:
                        raise self._malformed(may_commit, what, "the answer is too large")
                    chunks.append(chunk)
                return _Answer(response, b"".join(chunks), round_trip)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise LedgerUnavailable(f"{what}: the ledger cannot be reached") from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise LedgerUnavailable(f"{what}: the ledger URL cannot be used") from exc
        except httpx.DecodingError as exc:
            raise self._malformed(may_commit, what, "the answer cannot be decoded") from exc
        except httpx.TransportError as exc:
            if may_commit:
                raise UnknownOutcome(f"{what}: no answer came from the ledger") from exc
            raise LedgerUnavailable(f"{what}: no answer came from the ledger") from exc
        except httpx.HTTPError as exc:
            raise self._malformed(may_commit, what, "the exchange failed") from exc

    @staticmethod
    def _malformed(
        may_commit: bool, what: str, why: str, *, retry_after: float | None = None
    ) -> UnknownOutcome | LedgerUnavailable:
        if may_commit:
            return UnknownOutcome(f"{what}: {why}", retry_after=retry_after)
        return LedgerUnavailable(f"{what}: {why}", retry_after=retry_after)

    def _fail(self, answer: _Answer, *, may_commit: bool, what: str) -> Exception:
        """The error for an answer that is not the success expected."""
        status = answer.status
        if status == 429:
            return LedgerUnavailable(
                f"{what}: the ledger asks to slow down", retry_after=answer.retry_after
            )
        if status >= 500:
            return self._malformed(
                may_commit,
                what,
                f"the ledger answered {status}",
                retry_after=answer.retry_after,
            )
        if 400 <= status < 500:
            problem = answer.problem()
            if problem is not None:
                self._contact()
                if status == 401 and problem.code == "terminal_revoked":
                    self._revoked()
                    return LedgerRejected(
                        TERMINAL_REVOKED_SENTENCE, status=status, code=problem.code
                    )
                return LedgerRejected(
                    f"{what}: {problem.detail or problem.title or problem.code}",
                    status=status,
                    code=problem.code,
                    detail=problem.detail,
                )
        return self._malformed(may_commit, what, f"unexpected answer {status}")

    def _json(self, answer: _Answer, *, may_commit: bool, what: str) -> Any:
        try:
            data = answer.json()
        except ContractError as exc:
            raise self._malformed(may_commit, what, exc.message) from None
        return data

    def _parsed(
        self,
        answer: _Answer,
        parse: Callable[[Any], _T],
        *,
        ok: Container[int] = (200,),
        may_commit: bool,
        what: str,
    ) -> _T:
        """A success answer's JSON read by ``parse``; any other or malformed answer raises."""
        if answer.status not in ok:
            raise self._fail(answer, may_commit=may_commit, what=what)
        data = self._json(answer, may_commit=may_commit, what=what)
        try:
            result = parse(data)
        except ContractError as exc:
            raise self._malformed(may_commit, what, f"malformed answer ({exc.message})") from None
        self._contact()
        return result

    # ------------------------------------------------------------------ token

    async def rotate_token(self) -> tuple[str, datetime]:
        """``POST /v1/terminal-tokens/rotate``: ``(new token, when the one sent stops working)``.

        Not repeated on a lost answer (each call makes a new token; the one sent
        keeps working for its grace period, so the caller may simply call again).
        """
        what = "token rotation"
        answer = await self._send("POST", "v1/terminal-tokens/rotate", body=b"{}", what=what)

        def parse(data: Any) -> tuple[str, datetime]:
            if not isinstance(data, dict):
                raise ContractError("malformed", "the answer is not an object")
            token = data.get("token")
            if not isinstance(token, str) or not token.strip() or not token.isascii():
                raise ContractError("malformed", "token is missing or not text")
            return token, parse_time(data.get("previous_valid_until"), "previous_valid_until")

        return self._parsed(answer, parse, may_commit=False, what=what)

    async def revoke_terminal(self, terminal_id: str) -> datetime:
        """``POST /v1/terminals/{id}/revoke`` with a merchant admin token: when it was revoked."""
        what = "revoke"
        path = f"v1/terminals/{quote(terminal_id, safe='')}/revoke"
        answer = await self._send("POST", path, body=b"{}", what=what)

        def parse(data: Any) -> datetime:
            if not isinstance(data, dict):
                raise ContractError("malformed", "the answer is not an object")
            return parse_time(data.get("revoked_at"), "revoked_at")

        return self._parsed(answer, parse, may_commit=False, what=what)

    # ------------------------------------------------------------------ reads

    async def health(self) -> datetime | None:
        """``GET /v1/health``: the ledger's time, if it says one."""
        return (await self._health())[0]

    async def probe(self) -> float | None:
        """``GET /v1/health`` after a failure: its ``drain_window_s`` (None when absent).

        Read tolerantly: a missing, null, negative or non-numeric window is None.
        """
        return (await self._health())[1]

    async def _health(self) -> tuple[datetime | None, float | None]:
        what = "health"
        answer = await self._send("GET", "v1/health", what=what)
        if answer.status != 200:
            raise self._fail(answer, may_commit=False, what=what)
        data = self._json(answer, may_commit=False, what=what)
        if not isinstance(data, dict) or data.get("status") != "ok":
            raise LedgerUnavailable(f"{what}: the ledger is not ok")
        self._contact()
        raw = data.get("drain_window_s")
        window = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        if window is not None and not (math.isfinite(window) and window >= 0):
            window = None
        try:
            when = parse_time(data.get("time"), "time") if data.get("time") else None
        except ContractError:
            return None, window
        self._server_time(when, answer.round_trip)
        return when, window

    async def get_rules(self, *, etag: str | None = None) -> SignedDocument | None:
        """``GET /v1/rules``: the signed rule set, or ``None`` when unchanged (304)."""
        what = "rules"
        headers = {"If-None-Match": etag} if etag else {}
        answer = await self._send("GET", "v1/rules", headers=headers, what=what)
        if answer.status == 304:
            self._contact()
            return None
        if answer.status != 200:
            raise self._fail(answer, may_commit=False, what=what)
        if not answer.is_json:
            raise LedgerUnavailable(f"{what}: the answer is not JSON")
        self._contact()
        return SignedDocument(
            body=answer.body,
            signature=answer.headers.get("x-signature"),
            etag=answer.headers.get("etag"),
        )

    async def get_terminal_config(self, *, etag: str | None = None) -> SignedDocument | None:
        """``GET /v1/terminal-config``: the signed config layers, or ``None`` when unchanged."""
        what = "terminal config"
        headers = {"If-None-Match": etag} if etag else {}
        answer = await self._send("GET", "v1/terminal-config", headers=headers, what=what)
        if answer.status == 304:
            self._contact()
            return None
        if answer.status != 200:
            raise self._fail(answer, may_commit=False, what=what)
        if not answer.is_json:
            raise LedgerUnavailable(f"{what}: the answer is not JSON")
        self._contact()
        return SignedDocument(
            body=answer.body,
            signature=answer.headers.get("x-signature"),
            etag=answer.headers.get("etag"),
        )

    async def download_catalog(
        self,
        sink: BinaryIO,
        *,
        since: str | None = None,
        etag: str | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> CatalogDownload | None:
        """``GET /v1/catalog``: stream the NDJSON body into ``sink`` (never held in memory).

        Returns ``None`` when unchanged (304). The caller verifies the signature
        over what was written before trusting a byte of it.
        """
        what = "catalog"
        params = {"since": since} if since else None
        headers = (
            {"If-None-Match": etag, "Accept": "application/x-ndjson"}
            if etag
            else {"Accept": "application/x-ndjson"}
        )
        try:
            async with self._client.stream(
                "GET", "v1/catalog", params=params, headers=headers
            ) as response:
                if response.status_code == 304:
                    self._contact()
                    return None
                if response.status_code != 200:
                    body = b""
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_JSON_BYTES:
                            break
                    raise self._fail(_Answer(response, body), may_commit=False, what=what)
                total_header = response.headers.get("content-length")
                total = int(total_header) if total_header and total_header.isdigit() else None
                size = 0
                async for chunk in response.aiter_bytes():
                    sink.write(chunk)
                    size += len(chunk)
                    if progress is not None:
                        progress(size, total)
                self._contact()
                return CatalogDownload(
                    size=size,
                    signature=response.headers.get("x-signature"),
                    etag=response.headers.get("etag"),
                )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise LedgerUnavailable(f"{what}: the ledger cannot be reached") from exc
        except httpx.TransportError as exc:
            raise LedgerUnavailable(f"{what}: the download broke off") from exc

    async def inquire_wallet(self, identity: Identity) -> Wallet:
        """``POST /v1/wallet-inquiries``: the household's wallet (the ID stays out of the URL)."""
        what = "wallet inquiry"
        answer = await self._send(
            "POST", "v1/wallet-inquiries", body=dump_json(identity.wire()), what=what
        )
        return self._parsed(answer, parse_wallet, may_commit=False, what=what)

    async def request_otp(self, national_id: str) -> OtpChallenge:
        """``POST /v1/otp-challenges``: the ledger texts a code to the household."""
        what = "verification code"
        answer = await self._send(
            "POST", "v1/otp-challenges", body=dump_json({"national_id": national_id}), what=what
        )
        return self._parsed(
            answer, parse_otp_challenge, ok=(200, 201, 202), may_commit=False, what=what
        )

    async def get_redemption(self, redemption_id: str) -> RedemptionAnswer | None:
        """``GET /v1/redemptions/{id}``: its stored answer, or ``None`` if the ledger never got it.

        Only a ``404`` problem document with code ``not_found`` means "never got
        it"; a bare 404 (a proxy, a wrong path) is ``LedgerUnavailable``.
        """
        what = "redemption lookup"
        answer = await self._send("GET", f"v1/redemptions/{quote(redemption_id)}", what=what)
        if answer.status == 404:
            problem = answer.problem()
            if problem is not None and problem.code == "not_found":
                self._contact()
                return None
            raise LedgerUnavailable(f"{what}: unexpected 404")
        return self._parsed(
            answer,
            lambda data: parse_redemption_answer(data, expected_id=redemption_id),
            may_commit=False,
            what=what,
        )

    async def settlement(self, business_date: date) -> Settlement:
        what = "settlement"
        answer = await self._send("GET", f"v1/settlements/{business_date.isoformat()}", what=what)
        return self._parsed(answer, parse_settlement, may_commit=False, what=what)

    # ------------------------------------------------------------------ writes

    async def submit_redemption(self, redemption_id: str, body: bytes) -> RedemptionAnswer:
        """``POST /v1/redemptions`` with ``Idempotency-Key: <id>``; the body goes as it is."""
        what = "redemption"
        answer = await self._send(
            "POST",
            "v1/redemptions",
            body=body,
            headers={"Idempotency-Key": redemption_id},
            may_commit=True,
            what=what,
        )
        return self._parsed(
            answer,
            lambda data: parse_redemption_answer(data, expected_id=redemption_id),
            ok=(200, 201),
            may_commit=True,
            what=what,
        )

    async def submit_batch(self, items: Sequence[tuple[str, bytes]]) -> list[BatchItemResult]:
        """``POST /v1/redemptions/batch``: up to 100 stored bodies, answered item by item.

        The whole batch failing raises as :meth:`submit_redemption` does; an
        answer whose items do not match the request, in number, order and id,
        is an ``UnknownOutcome`` for all of them.
        """
        what = "batch"
        if not items or len(items) > 100:
            raise ValueError("a batch holds 1 to 100 redemptions")
        body = b'{"redemptions":[' + b",".join(b for _, b in items) + b"]}"
        answer = await self._send(
            "POST", "v1/redemptions/batch", body=body, may_commit=True, what=what
        )
        if answer.status != 200:
            raise self._fail(answer, may_commit=True, what=what)
        data = self._json(answer, may_commit=True, what=what)
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list) or len(results) != len(items):
            raise UnknownOutcome(f"{what}: the answer does not match the batch")
        out: list[BatchItemResult] = []
        for (redemption_id, _), item in zip(items, results, strict=True):
            out.append(self._batch_item(redemption_id, item))
        self._contact()
        return out

    @staticmethod
    def _batch_item(redemption_id: str, item: object) -> BatchItemResult:
        if not isinstance(item, dict) or item.get("id") != redemption_id:
            return BatchItemResult(id=redemption_id, kind="unknown")
        status = item.get("status_code")
        body = item.get("body")
        if type(status) is not int:
            return BatchItemResult(id=redemption_id, kind="unknown")
        if status in (200, 201):
            try:
                answer = parse_redemption_answer(body, expected_id=redemption_id)
            except ContractError:
                return BatchItemResult(id=redemption_id, kind="unknown")
            return BatchItemResult(id=redemption_id, kind="answer", answer=answer)
        if status == 429:
            return BatchItemResult(
                id=redemption_id, kind="not_processed", retry_after=_item_retry_after(item)
            )
        if 400 <= status < 500:
            try:
                problem = parse_problem(body, http_status=status)
            except ContractError:
                return BatchItemResult(id=redemption_id, kind="unknown")
            return BatchItemResult(id=redemption_id, kind="rejected", problem=problem)
        return BatchItemResult(
            id=redemption_id,
            kind="unknown",
            retry_after=_item_retry_after(item) if status == 503 else None,
        )

    async def void_redemption(self, redemption_id: str) -> VoidAnswer:
        """``POST /v1/redemptions/{id}/void`` with ``Idempotency-Key: void-<id>``."""
        what = "void"
        answer = await self._send(
            "POST",
            f"v1/redemptions/{quote(redemption_id)}/void",
            body=b"{}",
            headers={"Idempotency-Key": f"void-{redemption_id}"},
            may_commit=True,
            what=what,
        )
        return self._parsed(
            answer,
            lambda data: parse_void_answer(data, expected_id=redemption_id),
            may_commit=True,
            what=what,
        )
