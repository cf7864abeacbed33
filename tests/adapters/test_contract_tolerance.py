"""Every reader of the ledger contract reads what a newer ledger may send (its "Conventions").

Documents are generated from the project's OpenAPI schemas (``hypothesis-jsonschema``),
then varied as the contract allows: unknown members added anywhere, optional members
left out, sent as ``null`` or, for text, as ``""``. Each reader must take the valid
document, and must read the varied one exactly as the same document without those
optional members (an empty optional string means what an absent one means). Readers
that live in the HTTP client (health, batch results, problem documents of a 404) are
fed through :class:`HttpLedger` over an in-memory transport, with content types that
carry a charset parameter.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pos_client.adapters.ledger_http import HttpLedger
from pos_client.domain.contract import (
    dump_json,
    parse_catalog,
    parse_catalog_header,
    parse_product,
    parse_purse,
    parse_rule_set,
    parse_time,
    parse_wallet,
)
from pos_client.domain.redemption import (
    parse_otp_challenge,
    parse_problem,
    parse_redemption_answer,
    parse_settlement,
    parse_void_answer,
)
from tests.support.contract_schemas import component, documents, response, varied

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Reader = Callable[[Any], Any]


def _answer(doc: Any) -> Reader:
    return lambda d: parse_redemption_answer(d, expected_id=doc["id"])


def _void(doc: Any) -> Reader:
    return lambda d: parse_void_answer(d, expected_id=doc["id"])


def _problem(doc: Any) -> Reader:
    return lambda d: parse_problem(d, http_status=doc.get("status", 400))


#: (name, schema, reader made from the valid document)
READERS: list[tuple[str, Callable[[], dict[str, Any]], Callable[[Any], Reader]]] = [
    ("wallet", lambda: component("Wallet"), lambda doc: parse_wallet),
    ("purse", lambda: component("Purse"), lambda doc: parse_purse),
    (
        "otp challenge",
        lambda: response("/v1/otp-challenges", "post", "202"),
        lambda doc: parse_otp_challenge,
    ),
    ("redemption answer", lambda: component("RedemptionResult"), _answer),
    ("void answer", lambda: response("/v1/redemptions/{redemption_id}/void", "post", "200"), _void),
    ("settlement", lambda: component("Settlement"), lambda doc: parse_settlement),
    ("rule set", lambda: component("RuleSet"), lambda doc: parse_rule_set),
    ("catalog line", lambda: component("Product"), lambda doc: parse_product),
    ("problem document", lambda: component("Problem"), _problem),
]


@pytest.mark.parametrize(("name", "schema", "reader"), READERS, ids=[r[0] for r in READERS])
def test_every_reader_takes_what_a_newer_ledger_may_send(
    name: str, schema: Callable[[], dict[str, Any]], reader: Callable[[Any], Reader]
) -> None:
    shape = schema()

    @SETTINGS
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        document = data.draw(documents(shape), label="valid")
        read = reader(document)
        read(document)  # a valid document is read
        sent, meant = varied(data.draw, document, shape)
        assert read(sent) == read(meant), name

    check()


@SETTINGS
@given(data=st.data())
def test_a_catalog_of_varied_lines_reads_as_its_plain_lines(data: st.DataObject) -> None:
    shape = component("Product")
    lines = data.draw(
        st.lists(documents(shape), min_size=1, max_size=4, unique_by=lambda p: p["gtin"])
    )
    header = {"version": "c-000917", "full": data.draw(st.booleans())}
    varied_lines = [varied(data.draw, line, shape) for line in lines]
    extra = {"x_" + data.draw(st.sampled_from(["new", "shard", "signed_by"])): 1}
    sent = [dump_json({**header, **extra})] + [dump_json(v) for v, _ in varied_lines]
    meant = [dump_json(header)] + [dump_json(m) for _, m in varied_lines]
    assert parse_catalog(b"\n".join(sent) + b"\n") == parse_catalog(b"\n".join(meant) + b"\n")
    assert parse_catalog_header({**header, **extra}) == (header["version"], header["full"])


# --------------------------------------------------------------------------- through HTTP


def _ledger(handler: Callable[[httpx.Request], httpx.Response]) -> HttpLedger:
    return HttpLedger(
        base_url="http://127.0.0.1:1/", token="tok", transport=httpx.MockTransport(handler)
    )


def _json_answer(status: int, value: Any, ctype: str) -> Callable[[httpx.Request], httpx.Response]:
    body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    return lambda request: httpx.Response(status, content=body, headers={"Content-Type": ctype})


async def _health(value: Any) -> Any:
    ledger = _ledger(_json_answer(200, value, "application/json; charset=utf-8"))
    async with ledger:
        return await ledger.health()


@SETTINGS
@given(data=st.data())
def test_health_reads_what_a_newer_ledger_may_send(data: st.DataObject) -> None:
    shape = response("/v1/health", "get", "200")
    document = data.draw(documents(shape))
    sent, _ = varied(data.draw, document, shape)
    assert asyncio.run(_health(sent)) == parse_time(document["time"])


async def _not_found(problem: Any, ctype: str) -> Any:
    ledger = _ledger(_json_answer(404, problem, ctype))
    async with ledger:
        return await ledger.get_redemption("01936a5e-0000-7000-8000-000000000001")


@SETTINGS
@given(data=st.data())
def test_a_not_found_problem_however_sent_means_never_received(data: st.DataObject) -> None:
    shape = component("Problem")
    document = {**data.draw(documents(shape)), "status": 404, "code": "not_found"}
    if data.draw(st.booleans()):
        document["type"] = "about:blank"
    sent, _ = varied(data.draw, document, shape)
    ctype = data.draw(
        st.sampled_from(
            [
                "application/problem+json",
                "application/problem+json; charset=utf-8",
                "application/problem+json; charset=UTF-8",
                "Application/Problem+JSON;charset=utf-8",
                "application/json; charset=utf-8",
            ]
        )
    )
    assert asyncio.run(_not_found(sent, ctype)) is None


async def _batch(items: list[tuple[str, bytes]], value: Any) -> Any:
    ledger = _ledger(_json_answer(200, value, "application/json; charset=utf-8"))
    async with ledger:
        return await ledger.submit_batch(items)


@SETTINGS
@given(data=st.data())
def test_batch_results_read_what_a_newer_ledger_may_send(data: st.DataObject) -> None:
    answer_shape = component("RedemptionResult")
    problem_shape = component("Problem")
    count = data.draw(st.integers(min_value=1, max_value=3))
    results: list[Any] = []
    expected: list[Any] = []
    items: list[tuple[str, bytes]] = []
    for n in range(count):
        rid = f"01936a5e-0000-7000-8000-{n:012d}"
        items.append((rid, b'{"id":"%s"}' % rid.encode()))
        if data.draw(st.booleans()):
            body = {**data.draw(documents(answer_shape)), "id": rid}
            sent, meant = varied(data.draw, body, answer_shape)
            status = data.draw(st.sampled_from([200, 201]))
            expected.append(("answer", parse_redemption_answer(meant, expected_id=rid)))
        else:
            status = data.draw(st.sampled_from([400, 403, 404, 409, 422]))
            body = {**data.draw(documents(problem_shape)), "status": status}
            sent, meant = varied(data.draw, body, problem_shape)
            expected.append(("rejected", parse_problem(meant, http_status=status)))
        item: dict[str, Any] = {"id": rid, "status_code": status, "body": sent}
        if data.draw(st.booleans()):
            item["x_shard"] = n
        results.append(item)
    document: dict[str, Any] = {"results": results}
    if data.draw(st.booleans()):
        document["x_took_ms"] = 12
    got = asyncio.run(_batch(items, document))
    assert [(r.kind, r.answer or r.problem) for r in got] == expected
