"""Refusals made at the HTTP layer are problem documents too, byte for byte on a raw socket."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from typing import Any

import httpx

from pos_client.sandbox.edge import ProblemGuard
from pos_client.sandbox.server import RunningSandbox


def _exchange(sb: RunningSandbox, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes on a fresh loopback connection; the status, headers and body answered."""
    host, port = sb.url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = conn.recv(65536)
            assert chunk, f"connection closed without an answer: {received!r}"
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        match = re.search(rb"\r\ncontent-length: *([0-9]+)", head, re.IGNORECASE)
        assert match, f"an answer without Content-Length: {head!r}"
        while len(body) < int(match.group(1)):
            chunk = conn.recv(65536)
            assert chunk, "connection closed mid-body"
            body += chunk
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for header in lines[1:]:
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def _assert_problem(answer: tuple[int, dict[str, str], bytes], status: int, code: str) -> None:
    got_status, headers, body = answer
    assert got_status == status, (got_status, body[:200])
    assert headers["content-type"] == "application/problem+json", (headers, body[:200])
    document = json.loads(body)
    assert document["status"] == status
    assert document["code"] == code
    assert document["type"].endswith(code) and document["title"] and document["detail"]


def test_every_http_layer_refusal_is_a_problem_document(sandbox: RunningSandbox) -> None:
    token = sandbox.terminal()["token"]
    auth = f"Authorization: Bearer {token}\r\n".encode()
    json_type = b"Content-Type: application/json\r\n"
    inquiry = b"POST /v1/wallet-inquiries HTTP/1.1\r\nHost: ledger\r\n" + auth + json_type
    cases: list[tuple[str, bytes, int, str]] = [
        (
            "Content-Length not a number",
            inquiry + b"Content-Length: abc\r\n\r\n{}",
            400,
            "invalid_request",
        ),
        (
            "negative Content-Length",
            inquiry + b"Content-Length: -1\r\n\r\n{}",
            400,
            "invalid_request",
        ),
        (
            "two Content-Lengths",
            inquiry + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
            400,
            "invalid_request",
        ),
        (
            "broken chunked body",
            inquiry + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            400,
            "invalid_request",
        ),
        ("not HTTP at all", b"HELLO\r\n\r\n", 400, "invalid_request"),
        ("no Host header", b"GET /v1/health HTTP/1.1\r\n\r\n", 400, "invalid_request"),
        (
            "a space in a header name",
            b"GET /v1/health HTTP/1.1\r\nHost: ledger\r\nBad Header: 1\r\n\r\n",
            400,
            "invalid_request",
        ),
        (
            "a raw non-ASCII byte in the target",
            b"GET /v1/catalog?since=\xff HTTP/1.1\r\nHost: ledger\r\n" + auth + b"\r\n",
            400,
            "invalid_request",
        ),
        (
            "a query that is not UTF-8",
            b"GET /v1/catalog?since=%FF HTTP/1.1\r\nHost: ledger\r\n" + auth + b"\r\n",
            400,
            "invalid_request",
        ),
        (
            "a query name that is not UTF-8",
            b"GET /v1/health?%C3%28=1 HTTP/1.1\r\nHost: ledger\r\n\r\n",
            400,
            "invalid_request",
        ),
        (
            "a path that is not UTF-8",
            b"GET /v1/redemptions/%FF HTTP/1.1\r\nHost: ledger\r\n" + auth + b"\r\n",
            400,
            "invalid_request",
        ),
        ("bad JSON", inquiry + b"Content-Length: 1\r\n\r\n{", 400, "invalid_request"),
        ("an unknown path", b"GET /v2/health HTTP/1.1\r\nHost: ledger\r\n\r\n", 404, "not_found"),
        (
            "a wrong method",
            b"PATCH /v1/health HTTP/1.1\r\nHost: ledger\r\nContent-Length: 0\r\n\r\n",
            405,
            "method_not_allowed",
        ),
        (
            "a body too large",
            inquiry + b"Content-Length: 99999999\r\n\r\n{",
            413,
            "payload_too_large",
        ),
    ]
    for name, request, status, code in cases:
        answer = _exchange(sandbox, request)
        try:
            _assert_problem(answer, status, code)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None
    # The server is still serving after all of that.
    assert httpx.get(sandbox.url + "v1/health").status_code == 200


def test_a_failure_outside_the_routes_is_a_problem_document() -> None:
    async def failing(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("a layer outside the routes failed")

    messages: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        messages.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "GET", "path": "/v1/health", "headers": []}
    asyncio.run(ProblemGuard(failing)(scope, receive, send))
    start, body = messages
    assert start["status"] == 500
    assert (b"content-type", b"application/problem+json") in start["headers"]
    document = json.loads(body["body"])
    assert document["code"] == "internal_error"
    assert "failed outside" not in document["detail"]  # no details of the failure leak out
