"""The fleet page's HTTP app (Starlette): the page, its script and style, and a live event stream.

``GET /`` is the page in English or Persian (``?lang=fa``; else the browser's
``Accept-Language``), with ``dir="rtl"`` on the document for Persian so that the
browser lays it out right to left. Its sentences come from the ``fleet``
catalogs and reach the script as a JSON data block; nothing from the broker is
ever written into HTML by the server: the script puts every lane's values in
the page as text (``textContent``), so a rogue lane's version string cannot
become markup. A Content-Security-Policy allows only this server's own script
and style.

``GET /events`` is a stream of server-sent events: ``snapshot`` (every lane,
ranked by what needs a person, with the totals per store and for the chain)
when the page connects, then ``update`` (the lanes that changed, those
forgotten, and the totals) at most every ``batch_s`` seconds, and a re-check of
every lane every ``recheck_s`` seconds so that a lane that went silent becomes
*stale* without a message. ``GET /lanes.json`` is the same document as
``pos-client fleet status --json``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from functools import cache
from html import escape
from pathlib import Path
from string import Template
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from pos_client.domain.fleet_view import (
    Assessment,
    LaneRecord,
    assess,
    lane_json,
    rank_key,
    summarize,
    totals_json,
)
from pos_client.domain.lane_state import LaneAddress
from pos_client.domain.money import Lang
from pos_client.services.fleet_texts import texts
from pos_client.services.fleet_watch import FleetWatch

__all__ = ["LOOPBACK_HOSTS", "create_fleet_app", "page_lang"]

#: The names a browser on this computer uses for a page on loopback.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")

_HERE = Path(__file__).resolve().parent
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self';"
    " connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none';"
    " frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_KEEPALIVE_S = 15.0


@cache
def _asset(name: str) -> str:
    return (_HERE / name).read_text(encoding="utf-8")


def page_lang(request: Request) -> Lang:
    """``?lang=fa|en``, else the first of fa/en in ``Accept-Language``, else English."""
    asked = request.query_params.get("lang", "")
    if asked in ("fa", "en"):
        return "fa" if asked == "fa" else "en"
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in ("fa", "en"):
            return "fa" if code == "fa" else "en"
    return "en"


def _json_block(value: Any) -> str:
    """JSON safe inside a ``<script type="application/json">`` element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page(lang: Lang) -> str:
    words = dict(texts(lang))
    other: Lang = "en" if lang == "fa" else "fa"
    return Template(_asset("page.html")).substitute(
        lang=lang,
        dir="rtl" if lang == "fa" else "ltr",
        title=escape(words["page.title"]),
        other=other,
        other_label=escape(words["page.language"]),
        texts=_json_block({k: v for k, v in words.items() if k}),
    )


def _key(address: LaneAddress) -> str:
    return f"{address.merchant_id}/{address.store_id}/{address.terminal_id}"


def _lane(record: LaneRecord, assessment: Assessment) -> dict[str, Any]:
    return {
        "key": _key(record.address),
        "rank": list(rank_key(record, assessment)),
        **lane_json(record, assessment),
    }


class _Feed:
    """One page's view of the watch: each lane's assessment as last sent, so that an update
    assesses and carries only the lanes that changed (and, at a re-check, those whose
    standing changed with the time: a lane gone silent)."""

    def __init__(self, watch: FleetWatch, stale_after: timedelta) -> None:
        self.watch = watch
        self.stale_after = stale_after
        self.version = 0
        self.held: dict[LaneAddress, tuple[LaneRecord, Assessment]] = {}

    def _totals(self) -> dict[str, Any]:
        stores, chain = summarize(self.held.values())
        return {
            "stores": [
                {"merchant_id": m, "store_id": s, **totals_json(t)} for (m, s), t in stores.items()
            ],
            "chain": totals_json(chain),
        }

    def snapshot(self) -> dict[str, Any]:
        self.version, records, _removed = self.watch.changed_since(0)
        now = self.watch.now()
        self.held = {r.address: (r, assess(r, now, self.stale_after)) for r in records}
        return {
            "stale_after_s": int(self.stale_after.total_seconds()),
            "lanes": [_lane(r, a) for r, a in self.held.values()],
            **self._totals(),
        }

    def update(self, recheck: bool) -> dict[str, Any] | None:
        version, changed, removed = self.watch.changed_since(self.version)
        if version == self.version and not recheck:
            return None
        self.version = version
        now = self.watch.now()
        fresh: list[tuple[LaneRecord, Assessment]] = []
        for record in changed:
            pair = (record, assess(record, now, self.stale_after))
            self.held[record.address] = pair
            fresh.append(pair)
        if recheck:
            seen = {record.address for record in changed}
            for address, (record, before) in list(self.held.items()):
                if address in seen:
                    continue
                after = assess(record, now, self.stale_after)
                if (after.status, after.needs) != (before.status, before.needs):
                    self.held[address] = (record, after)
                    fresh.append((record, after))
        gone = [address for address in removed if self.held.pop(address, None) is not None]
        if not fresh and not gone:
            return None
        return {
            "lanes": [_lane(r, a) for r, a in fresh],
            "removed": [_key(a) for a in gone],
            **self._totals(),
        }


def _event(name: str, data: dict[str, Any]) -> bytes:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {name}\ndata: {body}\n\n".encode()


def create_fleet_app(
    watch: FleetWatch,
    *,
    stale_after: timedelta,
    batch_s: float = 0.25,
    recheck_s: float = 5.0,
    stopping: Callable[[], bool] = lambda: False,
    allowed_hosts: Sequence[str] = LOOPBACK_HOSTS,
) -> Starlette:
    """The fleet page's app over ``watch``; each event stream ends once ``stopping()``.

    A request whose ``Host`` is not in ``allowed_hosts`` is refused (400), so that a web
    site the IT team visits cannot read the page through a name that it points at
    loopback (DNS rebinding); ``("*",)`` allows any (behind the chain's reverse proxy)."""

    async def page(request: Request) -> Response:
        return HTMLResponse(_page(page_lang(request)), headers=_HEADERS)

    async def script(_request: Request) -> Response:
        return Response(_asset("page.js"), media_type="text/javascript", headers=_HEADERS)

    async def style(_request: Request) -> Response:
        return Response(_asset("page.css"), media_type="text/css", headers=_HEADERS)

    async def lanes(_request: Request) -> Response:
        feed = _Feed(watch, stale_after)
        document = feed.snapshot()
        document["lanes"].sort(key=lambda lane: lane["rank"])
        for lane in document["lanes"]:
            del lane["key"], lane["rank"]
        return JSONResponse({"version": 1, **document}, headers=_HEADERS)

    async def events(_request: Request) -> Response:
        async def stream() -> AsyncIterator[bytes]:
            feed = _Feed(watch, stale_after)
            yield b"retry: 2000\n\n" + _event("snapshot", feed.snapshot())
            last_sent = last_check = time.monotonic()
            while not stopping():
                await asyncio.sleep(batch_s)
                now = time.monotonic()
                recheck = now - last_check >= recheck_s
                if recheck:
                    last_check = now
                data = feed.update(recheck)
                if data is not None:
                    last_sent = now
                    yield _event("update", data)
                elif now - last_sent >= _KEEPALIVE_S:
                    last_sent = now
                    yield b": keepalive\n\n"

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={**_HEADERS, "X-Accel-Buffering": "no"},
        )

    return Starlette(
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))],
        routes=[
            Route("/", page),
            Route("/page.js", script),
            Route("/page.css", style),
            Route("/lanes.json", lanes),
            Route("/events", events),
        ],
    )
