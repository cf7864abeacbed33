"""The ledger client against a misbehaving HTTP server on loopback: every answer is checked.

The server here is a real TCP server speaking HTTP/1.1 from a script of raw
answers, so that malformed bodies, wrong content types, bare 404s, dropped
connections and Retry-After headers reach the client exactly as on the wire.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from pos_client.adapters.ledger_http import HttpLedger, parse_retry_after
from pos_client.domain.redemption import Identity
from pos_client.errors import ConfigError, LedgerRejected, LedgerUnavailable, UnknownOutcome

RID = "01936a5e-0000-7000-8000-000000000001"
GOOD_ANSWER: dict[str, object] = {
    "id": RID,
    "status": "approved",
    "reason": None,
    "approved_at": "2026-11-25T13:00:00+03:30",
    "receipt_code": "ABCD",
    "covered_rial": 100,
    "declined_rial": 0,
    "allocations": [],
    "purses_after": [],
}


def http(
    status: int, body: bytes = b"", *, ctype: str = "application/json", **headers: str
) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {ctype}", f"Content-Length: {len(body)}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def problem(status: int, code: str, **headers: str) -> bytes:
    body = json.dumps({"status": status, "code": code, "title": code}).encode()
    return http(status, body, ctype="application/problem+json", **headers)


CLOSE = b"<close>"  # close the connection without answering


@dataclass
class ScriptedServer:
    answers: list[bytes]
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                first, *rest = head.decode().split("\r\n")
                headers = {}
                for line in rest:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((first, headers, body))
                answer = self.answers.pop(0)
                if answer == CLOSE:
                    writer.close()
                    return
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer(answers=[])
    srv = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    scripted.url = f"http://127.0.0.1:{port}/"
    async with srv:
        yield scripted
        srv.close()


def client(url: str) -> HttpLedger:
    return HttpLedger(base_url=url, token="tok_secret", connect_timeout=2, read_timeout=2)


async def test_a_good_answer_is_read_and_the_request_is_right(server: ScriptedServer) -> None:
    server.answers = [http(201, json.dumps(GOOD_ANSWER).encode())]
    async with client(server.url) as ledger:
        answer = await ledger.submit_redemption(RID, b'{"id":"x"}')
    assert answer.status == "approved" and answer.covered_rial == 100
    first, headers, body = server.requests[0]
    assert first.startswith("POST /v1/redemptions ")
    assert headers["authorization"] == "Bearer tok_secret"
    assert headers["idempotency-key"] == RID
    assert headers["content-type"] == "application/json"
    assert body == b'{"id":"x"}'  # the stored bytes, as they are


@pytest.mark.parametrize(
    "answer",
    [
        http(201, b"{not json"),
        http(201, json.dumps({**GOOD_ANSWER, "id": "another"}).encode()),
        http(201, json.dumps({**GOOD_ANSWER, "covered_rial": "100"}).encode()),
        http(201, json.dumps(GOOD_ANSWER).encode(), ctype="text/html"),
        http(200, b""),
        http(302, b"", Location="http://elsewhere/"),
        http(404, b"<html>not here</html>", ctype="text/html"),
        http(500, b"oops", ctype="text/plain"),
        http(502, b""),
        CLOSE,
    ],
)
async def test_a_malformed_or_lost_answer_to_a_redemption_is_an_unknown_outcome(
    server: ScriptedServer, answer: bytes
) -> None:
    server.answers = [answer]
    async with client(server.url) as ledger:
        with pytest.raises(UnknownOutcome):
            await ledger.submit_redemption(RID, b"{}")


async def test_a_malformed_answer_to_a_read_is_unavailable_never_a_guess(
    server: ScriptedServer,
) -> None:
    server.answers = [
        http(200, b'{"beneficiary": 3}'),
        http(404, b"", ctype="text/plain"),  # a bare 404 is NOT "never received"
        http(200, json.dumps({**GOOD_ANSWER, "id": "other"}).encode()),
        CLOSE,
    ]
    async with client(server.url) as ledger:
        with pytest.raises(LedgerUnavailable):
            await ledger.inquire_wallet(Identity.token("KB1.a.b"))
        for _ in range(3):
            with pytest.raises(LedgerUnavailable):
                await ledger.get_redemption(RID)


async def test_only_a_not_found_problem_means_never_received(server: ScriptedServer) -> None:
    server.answers = [problem(404, "not_found"), http(200, json.dumps(GOOD_ANSWER).encode())]
    async with client(server.url) as ledger:
        assert await ledger.get_redemption(RID) is None
        found = await ledger.get_redemption(RID)
    assert found is not None and found.id == RID


async def test_problem_documents_become_rejections(server: ScriptedServer) -> None:
    server.answers = [problem(409, "idempotency_conflict"), problem(422, "token_used")]
    async with client(server.url) as ledger:
        with pytest.raises(LedgerRejected) as conflict:
            await ledger.submit_redemption(RID, b"{}")
        with pytest.raises(LedgerRejected) as used:
            await ledger.inquire_wallet(Identity.token("KB1.a.b"))
    assert (conflict.value.status, conflict.value.code) == (409, "idempotency_conflict")
    assert (used.value.status, used.value.code) == (422, "token_used")


async def test_429_and_503_carry_retry_after(server: ScriptedServer) -> None:
    server.answers = [
        problem(429, "too_many_requests", Retry_After="7"),
        problem(503, "service_unavailable", Retry_After="11"),
        problem(503, "service_unavailable", Retry_After="5"),
    ]
    async with client(server.url) as ledger:
        with pytest.raises(LedgerUnavailable) as slow:  # 429: not processed
            await ledger.submit_redemption(RID, b"{}")
        with pytest.raises(UnknownOutcome) as busy:  # 503 on a POST: it may have committed
            await ledger.submit_redemption(RID, b"{}")
        with pytest.raises(LedgerUnavailable) as read:
            await ledger.get_redemption(RID)
    assert slow.value.retry_after == 7 and busy.value.retry_after == 11
    assert read.value.retry_after == 5


async def test_a_batch_answer_that_does_not_match_is_unknown_for_all(
    server: ScriptedServer,
) -> None:
    items = [(RID, b'{"id":"a"}'), ("01936a5e-0000-7000-8000-000000000002", b'{"id":"b"}')]
    one = {"id": RID, "status_code": 201, "body": GOOD_ANSWER}
    server.answers = [
        http(200, json.dumps({"results": [one]}).encode()),
        http(
            200,
            json.dumps(
                {
                    "results": [
                        one,
                        {
                            "id": items[1][0],
                            "status_code": 400,
                            "body": {"status": 400, "code": "invalid_request"},
                        },
                    ]
                }
            ).encode(),
        ),
    ]
    async with client(server.url) as ledger:
        with pytest.raises(UnknownOutcome):
            await ledger.submit_batch(items)
        results = await ledger.submit_batch(items)
    assert [r.kind for r in results] == ["answer", "rejected"]
    assert server.requests[0][2] == b'{"redemptions":[{"id":"a"},{"id":"b"}]}'


async def test_a_closed_port_is_unavailable_and_nothing_was_sent() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    async with client(f"http://127.0.0.1:{port}/") as ledger:
        with pytest.raises(LedgerUnavailable):
            await ledger.submit_redemption(RID, b"{}")  # a connect error: surely never sent


def test_plain_http_is_refused_unless_loopback() -> None:
    with pytest.raises(ConfigError, match="https"):
        HttpLedger(base_url="http://ledger.example/", token="t")
    HttpLedger(base_url="http://localhost:1/", token="t")


def test_retry_after_reads_seconds_and_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("999999") == 3600.0
    assert parse_retry_after("soon") is None


# --------------------------------------------------------------------------- tolerant readers

NOT_FOUND_AS_SENT = (
    b'{"type":"about:blank","status":404,"code":"not_found","detail":""}'  # valid RFC 9457
)


async def test_a_not_found_problem_with_an_empty_detail_means_never_received(
    server: ScriptedServer,
) -> None:
    server.answers = [
        http(404, NOT_FOUND_AS_SENT, ctype="application/problem+json; charset=utf-8"),
        http(404, b'{"code":"not_found"}', ctype="application/problem+json; charset=UTF-8"),
        http(
            404,
            b'{"type":"about:blank","status":404,"code":"not_found","title":null,"detail":null}',
            ctype="application/json;charset=utf-8",
        ),
    ]
    async with client(server.url) as ledger:
        for _ in range(3):
            assert await ledger.get_redemption(RID) is None
    assert server.requests[0][0].startswith(f"GET /v1/redemptions/{RID} ")


async def test_an_about_blank_problem_is_a_rejection_by_its_code(server: ScriptedServer) -> None:
    server.answers = [
        http(
            409,
            b'{"type":"about:blank","status":409,"code":"idempotency_conflict","title":"",'
            b'"detail":"","instance":"/v1/redemptions","trace":{"id":7}}',
            ctype="application/problem+json; charset=utf-8",
        ),
        http(
            422, b'{"code":"token_used","detail":{"lang":"fa"}}', ctype="application/problem+json"
        ),
    ]
    async with client(server.url) as ledger:
        with pytest.raises(LedgerRejected) as conflict:
            await ledger.submit_redemption(RID, b"{}")
        with pytest.raises(LedgerRejected) as used:
            await ledger.inquire_wallet(Identity.token("KB1.a.b"))
    assert (conflict.value.status, conflict.value.code) == (409, "idempotency_conflict")
    assert (used.value.status, used.value.code, used.value.detail) == (422, "token_used", "")


async def test_answers_with_empty_or_null_optional_members_and_new_ones_are_read(
    server: ScriptedServer,
) -> None:
    answer = {
        **GOOD_ANSWER,
        "reason": "",
        "receipt_code": "",
        "approved_at": None,
        "allocations": [{"line": 0, "purse_id": "pu_1", "amount_rial": 100, "status": ""}],
        "purses_after": [
            {
                "id": "pu_1",
                "program": "kalabarg",
                "kind": "amount",
                "balance_rial": 0,
                "label_fa": None,
                "city": "",
                "valid_from": "",
                "expires_at": None,
                "tier": 2,
            }
        ],
        "ledger_node": "b-7",
    }
    wallet = {
        "beneficiary": {"ref": "b_7f3a", "display_name": None, "city": "", "segment": "x"},
        "requires_otp": False,
        "offline_allowance_rial": None,
        "purses": [
            {
                "id": "pu_2",
                "program": "yasna",
                "kind": "quantity",
                "label_fa": "",
                "entitlements": [{"group": "diaper-s3", "remaining_milli": 2000}],
            }
        ],
        "schema_version": 3,
    }
    utf8 = "application/json; charset=utf-8"
    server.answers = [
        http(201, json.dumps(answer).encode(), ctype=utf8),
        http(200, json.dumps(wallet).encode(), ctype=utf8),
    ]
    async with client(server.url) as ledger:
        got = await ledger.submit_redemption(RID, b"{}")
        household = await ledger.inquire_wallet(Identity.token("KB1.a.b"))
    assert (got.receipt_code, got.reason, got.approved_at) == (None, None, None)
    assert got.allocations[0].status == "applied" and got.purses_after[0].city is None
    assert household.beneficiary.display_name == "" and household.offline_allowance_rial == 0
    assert household.purses[0].entitlements[0].remaining_milli == 2000


@pytest.mark.parametrize(
    "broken",
    [
        {"covered_rial": -1},  # negative money
        {"covered_rial": 100.0},  # a float for money
        {"covered_rial": None},  # required
        {"status": None},
        {"id": ""},
    ],
)
async def test_what_is_truly_malformed_is_still_refused(
    server: ScriptedServer, broken: dict[str, object]
) -> None:
    server.answers = [http(201, json.dumps({**GOOD_ANSWER, **broken}).encode())]
    async with client(server.url) as ledger:
        with pytest.raises(UnknownOutcome, match="malformed"):
            await ledger.submit_redemption(RID, b"{}")


async def test_a_weak_etag_is_kept_and_sent_back_as_received(server: ScriptedServer) -> None:
    server.answers = [
        http(
            200,
            b'{"version":"r-1"}',
            ctype="application/json; charset=utf-8",
            ETag='W/"r-1"',
            X_Signature="kid=k1;sig=x",
        ),
        http(304, b"", ETag='W/"r-1"'),
        http(
            200,
            b'{"version":"c-1","full":true}\n',
            ctype="application/x-ndjson; charset=utf-8",
            ETag='W/"c-1"',
        ),
        http(304, b""),
    ]
    sink = io.BytesIO()
    async with client(server.url) as ledger:
        rules = await ledger.get_rules()
        assert rules is not None and rules.etag == 'W/"r-1"'
        assert await ledger.get_rules(etag=rules.etag) is None
        catalog = await ledger.download_catalog(sink)
        assert catalog is not None and catalog.etag == 'W/"c-1"'
        assert await ledger.download_catalog(io.BytesIO(), since="c-1", etag=catalog.etag) is None
    assert server.requests[1][1]["if-none-match"] == 'W/"r-1"'
    assert server.requests[3][1]["if-none-match"] == 'W/"c-1"'
    assert sink.getvalue() == b'{"version":"c-1","full":true}\n'


async def test_retry_after_as_an_http_date_is_honoured(server: ScriptedServer) -> None:
    server.answers = [
        problem(429, "too_many_attempts", Retry_After="Thu, 01 Jan 2015 00:00:00 GMT"),
        problem(503, "service_unavailable", Retry_After="Fri, 31 Dec 20xx 23:59:59 GMT"),
        problem(503, "service_unavailable", Retry_After="Fri, 31 Dec 9999 23:59:59 GMT"),
    ]
    async with client(server.url) as ledger:
        with pytest.raises(LedgerUnavailable) as past:
            await ledger.submit_redemption(RID, b"{}")
        with pytest.raises(LedgerUnavailable) as garbled:
            await ledger.get_redemption(RID)
        with pytest.raises(LedgerUnavailable) as far:
            await ledger.get_redemption(RID)
    assert past.value.retry_after == 0  # a date gone by: try again now
    assert garbled.value.retry_after is None
    assert far.value.retry_after == 3600  # clamped


def test_retry_after_dates_in_every_form_rfc_9110_allows() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Thursday, 01-Jan-26 00:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Thu Jan  1 00:01:00 2026", now=now) == 60.0
    assert parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now=now) == 0.0
    assert parse_retry_after(" 120 ") == 120.0
