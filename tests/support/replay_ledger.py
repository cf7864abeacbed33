"""A tiny ledger on loopback that serves exactly the signed bodies a test sets (not a test module).

It plays the ledger of a key rotation, and the man in the middle who replays a
body the ledger signed earlier: ``GET /v1/rules`` and ``GET /v1/catalog``
answer with the body and ``X-Signature`` last set, over real HTTP (uvicorn),
so the lane's own HTTP client, store and refresh code take them. Every other
path answers 503.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pos_client.domain.contract import dump_json, rule_set_to_wire
from pos_client.domain.models import RuleSet, SigningKey
from pos_client.domain.signing import b64url_encode, public_key_bytes, sign_document
from tests.support.waiting import eventually


@dataclass(frozen=True)
class Key:
    """One of the ledger's signing keys."""

    kid: str
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public(self) -> bytes:
        return public_key_bytes(self.private)

    def announced(self) -> SigningKey:
        return SigningKey(self.kid, "Ed25519", self.public)

    def sign(self, body: bytes) -> str:
        return sign_document(body, kid=self.kid, private_key=self.private)


@dataclass(frozen=True)
class Signed:
    body: bytes
    signature: str


def rules(
    by: Key,
    *,
    version: str,
    issued_at: datetime,
    announce: Sequence[Key],
    hot_list: frozenset[str] = frozenset(),
    catalog_version: str = "c-000001",
) -> Signed:
    """A rule set signed by ``by`` that announces ``announce``."""
    document = RuleSet(
        version=version,
        issued_at=issued_at,
        valid_until=issued_at + timedelta(days=2),
        signing_keys=tuple(k.announced() for k in announce),
        categories=(),
        programs=(),
        catalog_version=catalog_version,
        hot_list=hot_list,
    )
    body = dump_json(rule_set_to_wire(document))
    return Signed(body, by.sign(body))


def catalog(by: Key, *, version: str, count: int, full: bool = True) -> Signed:
    """A catalog of ``count`` products (GTINs 6260000000000 + i) signed by ``by``."""
    lines = [dump_json({"version": version, "full": full})]
    for i in range(count):
        lines.append(
            dump_json(
                {
                    "gtin": f"{6260000000000 + i:013d}",
                    "name_fa": f"کالای آزمایشی {i}",
                    "category": "rice",
                    "unit": "piece",
                    "groups": [],
                    "max_unit_price_rial": 1_000_000,
                    "deleted": False,
                }
            )
        )
    body = b"\n".join(lines) + b"\n"
    return Signed(body, by.sign(body))


class ReplayLedger:
    """What the tiny ledger serves now (set by the test between requests)."""

    def __init__(self) -> None:
        self.rules: Signed | None = None
        self.catalog: Signed | None = None
        self.url = ""

    def _app(self) -> Starlette:
        async def get_rules(request: Request) -> Response:
            return self._signed(self.rules, "application/json")

        async def get_catalog(request: Request) -> Response:
            return self._signed(self.catalog, "application/x-ndjson")

        async def health(request: Request) -> Response:
            return JSONResponse({"status": "ok", "time": datetime.now().astimezone().isoformat()})

        async def other(request: Request) -> Response:
            return JSONResponse(
                {"type": "about:blank", "status": 503, "code": "service_unavailable"},
                status_code=503,
                headers={"Retry-After": "1"},
                media_type="application/problem+json",
            )

        return Starlette(
            routes=[
                Route("/v1/rules", get_rules),
                Route("/v1/catalog", get_catalog),
                Route("/v1/health", health),
                Route("/{path:path}", other, methods=["GET", "POST"]),
            ]
        )

    @staticmethod
    def _signed(document: Signed | None, media_type: str) -> Response:
        if document is None:
            return JSONResponse(
                {"type": "about:blank", "status": 404, "code": "not_found"}, status_code=404
            )
        return Response(
            document.body, media_type=media_type, headers={"X-Signature": document.signature}
        )

    @contextmanager
    def serve(self) -> Iterator[ReplayLedger]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        server = uvicorn.Server(
            uvicorn.Config(self._app(), log_level="warning", lifespan="off", http="h11")
        )
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="replay-ledger", daemon=True
        )
        thread.start()
        try:
            eventually(lambda: _healthy(self.url, thread), "the replay ledger started", within=20)
            yield self
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            sock.close()


def _healthy(url: str, thread: threading.Thread) -> bool:
    """The ledger answers its health check (it failed to start if its thread ended)."""
    try:
        if httpx.get(url + "v1/health", timeout=2).status_code == 200:
            return True
    except httpx.HTTPError:
        pass
    if not thread.is_alive():
        raise RuntimeError("the replay ledger did not start")
    return False


def lane_config_file(directory: Path, *, url: str, trusted: Sequence[Key]) -> Path:
    """A lane config (TOML, mode 0600) for the replay ledger, trusting ``trusted``."""
    keys = "\n".join(f'"{k.kid}" = "{b64url_encode(k.public)}"' for k in trusted)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "lane.toml"
    path.write_text(
        "\n".join(
            [
                "[terminal]",
                'id = "T-0001"',
                'city = "rasht"',
                'shop_name = "Test shop"',
                "[ledger]",
                f'url = "{url}"',
                'token = "test-terminal-token-0001"',
                "connect_timeout_ms = 3000",
                "read_timeout_ms = 10000",
                "[ledger.trusted_keys]",
                keys,
                "[store]",
                'path = "lane.sqlite"',
                "",
            ]
        ),
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path
