"""The routes of terminal configuration: the lane's signed document and the admins' layers.

``GET /v1/terminal-config`` (terminal token; ``ETag``/``304``; ``X-Signature``),
``GET|PUT /v1/config-layers/chain``, ``/stores/{id}``, ``/terminals/{id}``
(merchant admin token; see :mod:`.terminal_config`).

Imports starlette and the sandbox's modules.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import app as _app
from . import auth
from .requests import parse_json
from .terminal_config import ConfigLayers

__all__ = ["CONFIG_ROUTES"]


def _layers(request: Request) -> ConfigLayers:
    sb = _app._sandbox(request)
    return ConfigLayers(
        books=sb.books, signer=sb.signer, clock=sb.clock, created_at=sb.settings.created_at
    )


async def terminal_config(request: Request) -> Response:
    _app._no_query(request)
    terminal = await _app._terminal(request)
    layers = _layers(request)
    version = await run_in_threadpool(layers.version_for, terminal)
    etag = f'"{version}"'
    if _app._not_modified(request, etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
    served = await run_in_threadpool(layers.document, terminal)
    headers = {
        "ETag": f'"{served.version}"',
        "X-Signature": served.signature,
        "Cache-Control": "no-cache",
    }
    return _app._json(200, served.body, headers)


def _target(request: Request) -> tuple[str, str | None]:
    path = request.url.path
    if path.endswith("/chain"):
        return "chain", None
    kind = "store" if "/stores/" in path else "lane"
    key = "store_id" if kind == "store" else "terminal_id"
    return kind, str(request.path_params[key])


async def config_layer(request: Request) -> Response:
    _app._no_query(request)
    books = _app._sandbox(request).books
    digest = auth.bearer_digest(request.headers.get("authorization"))
    merchant = await run_in_threadpool(auth.admin, books, digest)
    level, layer_id = _target(request)
    layers = _layers(request)
    if request.method == "GET":
        return _app._json(200, await run_in_threadpool(layers.read, merchant, level, layer_id))
    data = parse_json(await _app._read_body(request))
    body = await run_in_threadpool(layers.write, merchant, level, layer_id, data)
    return _app._json(200, body)


CONFIG_ROUTES = [
    Route("/v1/terminal-config", terminal_config, methods=["GET"]),
    Route("/v1/config-layers/chain", config_layer, methods=["GET", "PUT"]),
    Route("/v1/config-layers/stores/{store_id}", config_layer, methods=["GET", "PUT"]),
    Route("/v1/config-layers/terminals/{terminal_id}", config_layer, methods=["GET", "PUT"]),
]
