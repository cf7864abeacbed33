"""The contract's JSON documents, parsed strictly and written back (pos_client.domain.contract)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pos_client.domain.contract import (
    CatalogDocument,
    catalog_header_to_wire,
    catalog_to_ndjson,
    dump_json,
    format_time,
    load_json,
    parse_catalog,
    parse_catalog_header,
    parse_product,
    parse_purse,
    parse_rule_set,
    parse_time,
    parse_wallet,
    product_to_wire,
    purse_to_wire,
    rule_set_to_wire,
    wallet_to_wire,
)
from pos_client.domain.errors import ContractError
from pos_client.domain.models import (
    Beneficiary,
    Category,
    Entitlement,
    OfflinePolicy,
    Product,
    Program,
    ProgramKind,
    Purse,
    RuleSet,
    SigningKey,
    Unit,
    Wallet,
)
from pos_client.domain.signing import b64url_encode

TEHRAN = timezone(timedelta(hours=3, minutes=30))
KEY_BYTES = bytes(range(32))

# ---------------------------------------------------------------------- the contract's examples

RULES_EXAMPLE: dict[str, Any] = {
    "version": "r-2026-11-23-01",
    "issued_at": "2026-11-23T00:00:00+03:30",
    "valid_until": "2026-11-25T00:00:00+03:30",
    "signing_keys": [{"kid": "k1", "alg": "Ed25519", "public_key": b64url_encode(KEY_BYTES)}],
    "categories": [{"id": "rice", "name_fa": "برنج", "name_en": "Rice", "parent": None}],
    "programs": [
        {
            "id": "kalabarg",
            "name_fa": "کالابرگ",
            "kind": "amount",
            "categories": ["rice", "oil", "dairy", "..."],
            "per_transaction_max_rial": 100000000,
            "offline": {
                "allowed": True,
                "max_rial_per_transaction": 5000000,
                "max_rial_per_beneficiary_per_day": 5000000,
            },
        },
        {
            "id": "yasna",
            "name_fa": "بسته مادر و کودک",
            "kind": "quantity",
            "offline": {"allowed": False},
        },
        {
            "id": "donor",
            "name_fa": "کمک خیرین",
            "kind": "amount",
            "categories": ["..."],
            "offline": {"allowed": False},
        },
    ],
    "catalog": {"version": "c-000917"},
    "hot_list": ["ab" * 32],
}

PRODUCT_EXAMPLE: dict[str, Any] = {
    "gtin": "6260000000019",
    "name_fa": "برنج ایرانی ۱۰ کیلویی",
    "category": "rice",
    "unit": "piece",
    "groups": [],
    "max_unit_price_rial": 15000000,
    "deleted": False,
}

WALLET_EXAMPLE: dict[str, Any] = {
    "beneficiary": {
        "ref": "b_7f3a",
        "display_name": "ع. رضایی",
        "household_size": 4,
        "city": "rasht",
    },
    "requires_otp": False,
    "offline_allowance_rial": 3000000,
    "purses": [
        {
            "id": "pu_1",
            "program": "kalabarg",
            "kind": "amount",
            "label_fa": "کالابرگ مرحله ۷",
            "balance_rial": 4000000,
            "valid_from": "2026-11-01T00:00:00+03:30",
            "expires_at": "2026-12-01T00:00:00+03:30",
            "city": None,
            "categories": ["rice", "oil", "dairy"],
            "category_limits_rial": {"dairy": 1500000},
        },
        {
            "id": "pu_2",
            "program": "yasna",
            "kind": "quantity",
            "label_fa": "بسته مادر و نوزاد",
            "expires_at": "2027-01-01T00:00:00Z",
            "city": None,
            "entitlements": [{"group": "diaper-s3", "remaining_milli": 2000}],
        },
        {
            "id": "pu_3",
            "program": "donor",
            "kind": "amount",
            "label_fa": "کمک خیرین رشت",
            "balance_rial": 1000000,
            "expires_at": "2026-12-31T23:59:59.5+03:30",
            "city": "rasht",
            "categories": ["rice"],
        },
    ],
}


def test_rules_example_parses() -> None:
    rules = parse_rule_set(RULES_EXAMPLE)
    assert rules.version == "r-2026-11-23-01"
    assert rules.issued_at == datetime(2026, 11, 23, tzinfo=TEHRAN)
    assert rules.valid_until - rules.issued_at == timedelta(days=2)
    assert rules.signing_keys == (SigningKey(kid="k1", alg="Ed25519", public_key=KEY_BYTES),)
    assert rules.categories == (Category(id="rice", name_fa="برنج", name_en="Rice"),)
    kalabarg = rules.program("kalabarg")
    assert kalabarg is not None and kalabarg.kind is ProgramKind.AMOUNT
    assert kalabarg.per_transaction_max_rial == 100_000_000
    assert kalabarg.offline == OfflinePolicy(True, 5_000_000, 5_000_000)
    yasna = rules.program("yasna")
    assert yasna is not None
    assert yasna.kind is ProgramKind.QUANTITY and yasna.categories == ()
    assert yasna.offline == OfflinePolicy(allowed=False)
    assert rules.catalog_version == "c-000917"
    assert rules.hot_list == frozenset({"ab" * 32})


def test_product_example_parses() -> None:
    assert parse_product(PRODUCT_EXAMPLE) == Product(
        gtin="6260000000019",
        name_fa="برنج ایرانی ۱۰ کیلویی",
        category="rice",
        unit=Unit.PIECE,
        max_unit_price_rial=15_000_000,
    )


def test_wallet_example_parses() -> None:
    wallet = parse_wallet(WALLET_EXAMPLE)
    assert wallet.beneficiary == Beneficiary("b_7f3a", "ع. رضایی", 4, "rasht")
    assert wallet.offline_allowance_rial == 3_000_000 and wallet.requires_otp is False
    pu_1, pu_2, pu_3 = wallet.purses
    assert pu_1.category_limits_rial == {"dairy": 1_500_000}
    assert pu_1.valid_from == datetime(2026, 11, 1, tzinfo=TEHRAN)
    assert pu_2.kind is ProgramKind.QUANTITY and pu_2.balance_rial == 0
    assert pu_2.entitlements == (Entitlement("diaper-s3", 2000),)
    assert pu_2.expires_at == datetime(2027, 1, 1, tzinfo=UTC)
    assert pu_3.city == "rasht"
    assert pu_3.expires_at == datetime(2026, 12, 31, 23, 59, 59, 500_000, tzinfo=TEHRAN)


def test_examples_round_trip_through_wire() -> None:
    rules = parse_rule_set(RULES_EXAMPLE)
    assert parse_rule_set(rule_set_to_wire(rules)) == rules
    wallet = parse_wallet(WALLET_EXAMPLE)
    assert parse_wallet(wallet_to_wire(wallet)) == wallet
    assert product_to_wire(parse_product(PRODUCT_EXAMPLE)) == PRODUCT_EXAMPLE


def test_wire_shapes_follow_the_examples() -> None:
    wire = rule_set_to_wire(parse_rule_set(RULES_EXAMPLE))
    assert list(wire) == list(RULES_EXAMPLE)
    assert wire["issued_at"] == "2026-11-23T00:00:00+03:30"
    assert wire["programs"][1]["offline"] == {"allowed": False}
    purses = wallet_to_wire(parse_wallet(WALLET_EXAMPLE))["purses"]
    assert "balance_rial" not in purses[1] and "categories" not in purses[1]
    assert "entitlements" not in purses[0]
    assert purses[0]["category_limits_rial"] == {"dairy": 1_500_000}


def test_unknown_fields_are_tolerated() -> None:
    rules = copy.deepcopy(RULES_EXAMPLE)
    rules["future_field"] = {"anything": [1, 2]}
    rules["programs"][0]["weekday_only"] = True
    rules["programs"][0]["offline"]["max_items"] = 3
    rules["categories"][0]["icon"] = "rice.png"
    assert parse_rule_set(rules) == parse_rule_set(RULES_EXAMPLE)
    wallet = copy.deepcopy(WALLET_EXAMPLE)
    wallet["purses"][0]["priority"] = 1
    wallet["beneficiary"]["phone_hint"] = "***12"
    assert parse_wallet(wallet) == parse_wallet(WALLET_EXAMPLE)
    assert parse_product({**PRODUCT_EXAMPLE, "brand": "x"}) == parse_product(PRODUCT_EXAMPLE)


# --------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T00:00:00+03:30", datetime(2026, 11, 23, tzinfo=TEHRAN)),
        ("2026-11-22T20:30:00Z", datetime(2026, 11, 23, tzinfo=TEHRAN)),
        ("2026-11-22t20:30:00z", datetime(2026, 11, 23, tzinfo=TEHRAN)),
        ("2026-11-22T20:30:00.250-00:00", datetime(2026, 11, 22, 20, 30, 0, 250_000, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected and parsed.utcoffset() is not None


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23T00:00:00",  # naive
        "2026-11-23",
        "2026-11-23 00:00:00+03:30",
        "2026-11-23T00:00+03:30",
        "2026-11-23T00:00:00+0330",
        "2026-02-30T00:00:00Z",
        "2026-11-23T24:00:00Z",
        "2026-11-23T00:00:00+25:00",
        "20261123T000000Z",
        "۲۰۲۶-۱۱-۲۳T00:00:00Z",
        "",
        "...",
    ],
)
def test_parse_time_refuses(text: str) -> None:
    with pytest.raises(ContractError) as excinfo:
        parse_time(text, "issued_at")
    assert excinfo.value.reason == "malformed"
    assert excinfo.value.message.startswith("issued_at: ")


@pytest.mark.parametrize("value", [None, 1_700_000_000, 1.5, True, ["2026-11-23T00:00:00Z"]])
def test_parse_time_refuses_non_text(value: object) -> None:
    with pytest.raises(ContractError):
        parse_time(value)


def test_format_time() -> None:
    assert format_time(datetime(2026, 11, 23, tzinfo=TEHRAN)) == "2026-11-23T00:00:00+03:30"
    odd = timezone(timedelta(seconds=37))
    moment = datetime(2026, 1, 1, tzinfo=odd)
    assert parse_time(format_time(moment)) == moment
    with pytest.raises(ContractError):
        format_time(datetime(2026, 1, 1), "issued_at")


# --------------------------------------------------------------------------- malformed documents


def mutated(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """A deep copy of ``document`` with ``path`` set to ``value`` (or deleted for DELETE)."""
    result = copy.deepcopy(document)
    target: Any = result
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return result


DELETE = object()

RULES_CASES: list[tuple[tuple[str | int, ...], Any, str]] = [
    (("version",), DELETE, "version: missing"),
    (("version",), "", "version: not an id"),
    (("version",), 7, "version: not a string"),
    (("issued_at",), "2026-11-23T00:00:00", "issued_at: not an RFC 3339"),
    (("valid_until",), "2026-11-22T00:00:00+03:30", "valid_until: not after issued_at"),
    (("valid_until",), DELETE, "valid_until: missing"),
    (("signing_keys",), {"kid": "k1"}, "signing_keys: not a list"),
    (("signing_keys", 0, "public_key"), b64url_encode(b"\x01" * 31), "signing_keys[0].public_key"),
    (
        ("signing_keys", 0, "public_key"),
        b64url_encode(KEY_BYTES) + "=",
        "signing_keys[0].public_key",
    ),
    (("signing_keys", 0, "public_key"), "", "signing_keys[0].public_key"),
    (("signing_keys", 0, "kid"), DELETE, "signing_keys[0].kid: missing"),
    (("signing_keys", 0), "k1", "signing_keys[0]: not an object"),
    (("categories", 0, "id"), None, "categories[0].id: not a string"),
    (("categories", 0, "name_fa"), DELETE, "categories[0].name_fa: missing"),
    (("categories", 0, "parent"), 5, "categories[0].parent: not a string"),
    (("programs", 0, "kind"), "percent", "programs[0].kind: not one of the known values"),
    (("programs", 0, "kind"), DELETE, "programs[0].kind: missing"),
    (("programs", 0, "per_transaction_max_rial"), 1.0, "programs[0].per_transaction_max_rial"),
    (("programs", 0, "per_transaction_max_rial"), True, "programs[0].per_transaction_max_rial"),
    (("programs", 0, "per_transaction_max_rial"), -1, "out of range"),
    (("programs", 0, "per_transaction_max_rial"), 2**63, "out of range"),
    (("programs", 0, "per_transaction_max_rial"), "100", "not an integer"),
    (("programs", 0, "offline", "allowed"), "yes", "programs[0].offline.allowed: not a boolean"),
    (("programs", 0, "offline", "allowed"), 1, "programs[0].offline.allowed: not a boolean"),
    (("programs", 0, "offline", "allowed"), DELETE, "programs[0].offline.allowed: missing"),
    (("programs", 0, "offline"), [], "programs[0].offline: not an object"),
    (("programs", 0, "categories"), "rice", "programs[0].categories: not a list"),
    (("programs", 0, "categories", 0), 3, "programs[0].categories[0]: not a string"),
    (("programs", 0, "categories", 1), "rice", "programs[0].categories: an id appears twice"),
    (("programs", 2, "id"), "kalabarg", "programs: an id appears twice"),
    (("catalog",), DELETE, "catalog: missing"),
    (("catalog",), "c-1", "catalog: not an object"),
    (("catalog", "version"), DELETE, "catalog.version: missing"),
    (("hot_list",), DELETE, "hot_list: missing"),
    (("hot_list", 0), "ab" * 31, "hot_list[0]: not a SHA-256"),
    (("hot_list", 0), "zz" * 32, "hot_list[0]: not a SHA-256"),
]


@pytest.mark.parametrize(("path", "value", "expected"), RULES_CASES)
def test_malformed_rule_sets(path: tuple[str | int, ...], value: Any, expected: str) -> None:
    with pytest.raises(ContractError) as excinfo:
        parse_rule_set(mutated(RULES_EXAMPLE, path, value))
    assert excinfo.value.reason == "malformed"
    assert expected in excinfo.value.message


def test_duplicate_signing_key_ids_are_refused() -> None:
    doc = copy.deepcopy(RULES_EXAMPLE)
    doc["signing_keys"].append(dict(doc["signing_keys"][0]))
    with pytest.raises(ContractError, match="signing_keys: an id appears twice"):
        parse_rule_set(doc)


def test_other_algorithms_may_have_other_key_sizes() -> None:
    doc = copy.deepcopy(RULES_EXAMPLE)
    doc["signing_keys"].append(
        {"kid": "p1", "alg": "ML-DSA-65", "public_key": b64url_encode(b"\x02" * 1952)}
    )
    assert parse_rule_set(doc).signing_keys[1].public_key == b"\x02" * 1952


def test_hot_list_is_lowercased() -> None:
    doc = mutated(RULES_EXAMPLE, ("hot_list", 0), "AB" * 32)
    assert parse_rule_set(doc).hot_list == frozenset({"ab" * 32})


@pytest.mark.parametrize("document", [None, [], "rules", 7, {1: 2}])
def test_rule_set_not_an_object(document: object) -> None:
    with pytest.raises(ContractError, match=r"^\(document\): not an object$"):
        parse_rule_set(document)


PRODUCT_CASES: list[tuple[tuple[str | int, ...], Any, str]] = [
    (("gtin",), DELETE, "gtin: missing"),
    (("gtin",), 6260000000019, "gtin: not 8 to 14"),
    (("gtin",), "626000000001X", "gtin: not 8 to 14"),
    (("gtin",), "1234567", "gtin: not 8 to 14"),
    (("gtin",), "۶۲۶۰۰۰۰۰۰۰۰۱۹", "gtin: not 8 to 14"),
    (("name_fa",), DELETE, "name_fa: missing"),
    (("category",), DELETE, "category: missing"),
    (("unit",), "gram", "unit: not one of the known values"),
    (("groups",), "diaper-s3", "groups: not a list"),
    (("max_unit_price_rial",), "15000000", "max_unit_price_rial: not an integer"),
    (("deleted",), "false", "deleted: not a boolean"),
    (("deleted",), 0, "deleted: not a boolean"),
]


@pytest.mark.parametrize(("path", "value", "expected"), PRODUCT_CASES)
def test_malformed_products(path: tuple[str | int, ...], value: Any, expected: str) -> None:
    with pytest.raises(ContractError) as excinfo:
        parse_product(mutated(PRODUCT_EXAMPLE, path, value))
    assert excinfo.value.reason == "malformed"
    assert expected in excinfo.value.message


def test_deleted_product_needs_only_its_gtin() -> None:
    product = parse_product({"gtin": "6260000000019", "deleted": True})
    assert product.deleted and product.gtin == "6260000000019"
    assert parse_product(product_to_wire(product)) == product
    with pytest.raises(ContractError, match="name_fa: missing"):
        parse_product({"gtin": "6260000000019", "deleted": False})


def test_product_defaults() -> None:
    product = parse_product({"gtin": "6260000000019", "name_fa": "شیر", "category": "dairy"})
    assert product.unit is Unit.PIECE and product.groups == () and not product.deleted
    assert product.max_unit_price_rial is None


WALLET_CASES: list[tuple[tuple[str | int, ...], Any, str]] = [
    (("beneficiary",), DELETE, "beneficiary: missing"),
    (("beneficiary", "ref"), DELETE, "beneficiary.ref: missing"),
    (("beneficiary", "household_size"), 0, "beneficiary.household_size: out of range"),
    (("beneficiary", "household_size"), 4.0, "beneficiary.household_size: not an integer"),
    (("requires_otp",), DELETE, "requires_otp: missing"),
    (("requires_otp",), "false", "requires_otp: not a boolean"),
    (("offline_allowance_rial",), -1, "offline_allowance_rial: out of range"),
    (("purses",), DELETE, "purses: missing"),
    (("purses",), {}, "purses: not a list"),
    (("purses", 0, "balance_rial"), DELETE, "purses[0].balance_rial: missing"),
    (("purses", 0, "balance_rial"), 4000000.0, "purses[0].balance_rial: not an integer"),
    (("purses", 0, "kind"), "points", "purses[0].kind: not one of the known values"),
    (("purses", 0, "expires_at"), "2026-12-01T00:00:00", "purses[0].expires_at: not an RFC 3339"),
    (("purses", 0, "expires_at"), "2026-10-01T00:00:00Z", "purses[0].expires_at: not after"),
    (("purses", 0, "category_limits_rial"), [], "purses[0].category_limits_rial: not an object"),
    (("purses", 0, "category_limits_rial", "dairy"), "1500000", "category_limits_rial.dairy"),
    (("purses", 0, "category_limits_rial", "dairy"), -5, "category_limits_rial.dairy"),
    (
        ("purses", 1, "entitlements", 0, "remaining_milli"),
        True,
        "purses[1].entitlements[0].remaining_milli",
    ),
    (("purses", 1, "entitlements", 0, "group"), DELETE, "purses[1].entitlements[0].group: missing"),
    (("purses", 1, "entitlements"), "diaper", "purses[1].entitlements: not a list"),
    (("purses", 2, "id"), "pu_1", "purses: an id appears twice"),
    (("purses", 2, "city"), 7, "purses[2].city: not a string"),
    (("purses", 2, "label_fa"), ["x"], "purses[2].label_fa: not a string"),
]


@pytest.mark.parametrize(("path", "value", "expected"), WALLET_CASES)
def test_malformed_wallets(path: tuple[str | int, ...], value: Any, expected: str) -> None:
    with pytest.raises(ContractError) as excinfo:
        parse_wallet(mutated(WALLET_EXAMPLE, path, value))
    assert excinfo.value.reason == "malformed"
    assert expected in excinfo.value.message


def test_wallet_messages_do_not_quote_personal_values() -> None:
    doc = mutated(WALLET_EXAMPLE, ("beneficiary", "household_size"), "ع. رضایی")
    with pytest.raises(ContractError) as excinfo:
        parse_wallet(doc)
    assert "رضایی" not in excinfo.value.message


def test_parse_purse_alone() -> None:
    purse = parse_purse(WALLET_EXAMPLE["purses"][1])
    assert parse_purse(purse_to_wire(purse)) == purse
    with pytest.raises(ContractError, match=r"^kind: missing$"):
        parse_purse({"id": "pu_1", "program": "kalabarg"})


# --------------------------------------------------------------------------- catalog


def test_catalog_header() -> None:
    assert parse_catalog_header({"version": "c-000917", "full": True}) == ("c-000917", True)
    assert parse_catalog_header(catalog_header_to_wire("c-1", full=False)) == ("c-1", False)
    for bad, what in [
        ({"version": "c-1"}, "full: missing"),
        ({"version": "c-1", "full": "true"}, "full: not a boolean"),
        ({"full": True}, "version: missing"),
        ({"version": 917, "full": True}, "version: not a string"),
        ([], "(document): not an object"),
    ]:
        with pytest.raises(ContractError) as excinfo:
            parse_catalog_header(bad)
        assert what in excinfo.value.message


def test_catalog_ndjson_round_trip() -> None:
    products = [
        parse_product(PRODUCT_EXAMPLE),
        Product("6260000000026", "شیر", "dairy", Unit.LITRE),
    ]
    body = catalog_to_ndjson("c-000917", products, full=True)
    assert body.count(b"\n") == 3 and body.endswith(b"\n")
    assert json.loads(body.splitlines()[0]) == {"version": "c-000917", "full": True}
    assert parse_catalog(body) == CatalogDocument("c-000917", True, tuple(products))
    assert parse_catalog(b"\n" + body.replace(b"\n", b"\r\n") + b"\n\n") == parse_catalog(body)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", "line 1: no catalog header"),
        (b"\n \n", "line 1: no catalog header"),
        (b'{"version": "c-1"}\n', "line 1: full: missing"),
        (b'{"version": "c-1", "full": true}\n{"gtin": 1}\n', "line 2: gtin: not 8 to 14"),
        (
            b'{"version": "c-1", "full": true}\nnot json\n',
            "line 2: (document): not a JSON document",
        ),
        (b'{"version": "c-1", "full": true}\n\n[1]\n', "line 3: (document): not an object"),
        (b'{"version": "c-1", "full": true}\n\xff\n', "(document): not UTF-8"),
        (
            b'{"version": "c-1", "full": true}\n{"gtin": "12345678", "deleted": true}\n'
            b'{"gtin": "12345678", "deleted": true}\n',
            "line 3: a GTIN appears twice",
        ),
    ],
)
def test_malformed_catalogs(body: bytes, expected: str) -> None:
    with pytest.raises(ContractError) as excinfo:
        parse_catalog(body)
    assert excinfo.value.reason == "malformed"
    assert expected in excinfo.value.message


# --------------------------------------------------------------------------- JSON text


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"a": 1, "a": 2}',
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b"\xff\xfe",
        b"[" * 100_000,
    ],
)
def test_load_json_refuses(body: bytes) -> None:
    with pytest.raises(ContractError) as excinfo:
        load_json(body)
    assert excinfo.value.reason == "malformed"


def test_dump_json_is_compact_utf8() -> None:
    assert dump_json({"name_fa": "برنج", "n": [1, 2]}) == '{"name_fa":"برنج","n":[1,2]}'.encode()
    assert load_json(dump_json(RULES_EXAMPLE)) == RULES_EXAMPLE


def test_lone_surrogates_are_refused() -> None:
    doc = load_json(b'{"gtin": "6260000000019", "name_fa": "\\ud800", "category": "rice"}')
    with pytest.raises(ContractError, match="name_fa: not valid text"):
        parse_product(doc)


# --------------------------------------------------------------------------- properties

ids = st.from_regex(r"[a-z][a-z0-9_.-]{0,11}", fullmatch=True)
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
money = st.integers(min_value=0, max_value=2**63 - 1)
zones = st.sampled_from(
    [UTC, TEHRAN, timezone(timedelta(hours=-5)), timezone(timedelta(minutes=30))]
)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=zones
)


def unique_by(elements: st.SearchStrategy[Any], key: Any, max_size: int = 4) -> Any:
    return st.lists(elements, max_size=max_size, unique_by=key).map(tuple)


signing_keys = st.builds(
    SigningKey,
    kid=ids,
    alg=st.just("Ed25519"),
    public_key=st.binary(min_size=32, max_size=32),
) | st.builds(
    SigningKey, kid=ids, alg=st.just("Other-1"), public_key=st.binary(min_size=1, max_size=64)
)
categories = st.builds(Category, id=ids, name_fa=texts, name_en=texts, parent=st.none() | ids)
offline_policies = st.just(OfflinePolicy()) | st.builds(
    OfflinePolicy,
    allowed=st.just(True),
    max_rial_per_transaction=money,
    max_rial_per_beneficiary_per_day=money,
)
programs = st.builds(
    Program,
    id=ids,
    name_fa=texts,
    kind=st.sampled_from(list(ProgramKind)),
    categories=st.lists(ids, unique=True, max_size=4).map(tuple),
    per_transaction_max_rial=st.none() | money,
    offline=offline_policies,
)


@st.composite
def rule_sets(draw: st.DrawFn) -> RuleSet:
    issued_at = draw(times)
    return RuleSet(
        version=draw(ids),
        issued_at=issued_at,
        valid_until=issued_at
        + draw(st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=90))),
        signing_keys=draw(unique_by(signing_keys, lambda k: k.kid)),
        categories=draw(unique_by(categories, lambda c: c.id)),
        programs=draw(unique_by(programs, lambda p: p.id)),
        catalog_version=draw(ids),
        hot_list=draw(st.frozensets(st.from_regex(r"[0-9a-f]{64}", fullmatch=True), max_size=3)),
    )


products = st.builds(
    Product,
    gtin=st.from_regex(r"[0-9]{8,14}", fullmatch=True),
    name_fa=texts,
    category=ids,
    unit=st.sampled_from(list(Unit)),
    groups=st.lists(ids, unique=True, max_size=3).map(tuple),
    max_unit_price_rial=st.none() | money,
    deleted=st.booleans(),
    name_en=texts,
)


@st.composite
def purses(draw: st.DrawFn) -> Purse:
    kind = draw(st.sampled_from(list(ProgramKind)))
    valid_from = draw(st.none() | times)
    expires_at = draw(st.none() | times)
    if valid_from is not None and expires_at is not None and expires_at <= valid_from:
        expires_at = valid_from + timedelta(days=1)
    return Purse(
        id=draw(ids),
        program=draw(ids),
        kind=kind,
        label_fa=draw(texts),
        balance_rial=draw(money),
        valid_from=valid_from,
        expires_at=expires_at,
        city=draw(st.none() | ids),
        categories=draw(st.lists(ids, unique=True, max_size=3).map(tuple)),
        category_limits_rial=draw(st.dictionaries(ids, money, max_size=3)),
        entitlements=draw(
            unique_by(st.builds(Entitlement, group=ids, remaining_milli=money), lambda e: e.group)
        ),
    )


wallets = st.builds(
    Wallet,
    beneficiary=st.builds(
        Beneficiary,
        ref=ids,
        display_name=texts,
        household_size=st.none() | st.integers(min_value=1, max_value=30),
        city=st.none() | ids,
    ),
    requires_otp=st.booleans(),
    offline_allowance_rial=money,
    purses=unique_by(purses(), lambda p: p.id),
)


@settings(max_examples=75)
@given(rule_sets())
def test_rule_set_round_trip(rules: RuleSet) -> None:
    assert parse_rule_set(rule_set_to_wire(rules)) == rules
    assert parse_rule_set(load_json(dump_json(rule_set_to_wire(rules)))) == rules


@settings(max_examples=100)
@given(products)
def test_product_round_trip(product: Product) -> None:
    assert parse_product(product_to_wire(product)) == product
    assert parse_product(load_json(dump_json(product_to_wire(product)))) == product


@settings(max_examples=100)
@given(purses())
def test_purse_round_trip(purse: Purse) -> None:
    assert parse_purse(purse_to_wire(purse)) == purse


@settings(max_examples=75)
@given(wallets)
def test_wallet_round_trip(wallet: Wallet) -> None:
    assert parse_wallet(wallet_to_wire(wallet)) == wallet
    assert parse_wallet(load_json(dump_json(wallet_to_wire(wallet)))) == wallet


@settings(max_examples=30)
@given(version=ids, full=st.booleans(), items=unique_by(products, lambda p: p.gtin, max_size=5))
def test_catalog_round_trip(version: str, full: bool, items: tuple[Product, ...]) -> None:
    body = catalog_to_ndjson(version, items, full=full)
    assert parse_catalog(body) == CatalogDocument(version, full, items)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=8,
)


def paths_of(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(paths_of(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(paths_of(child, (*prefix, index)))
    return found


PARSERS = [
    (parse_rule_set, RULES_EXAMPLE),
    (parse_wallet, WALLET_EXAMPLE),
    (parse_product, PRODUCT_EXAMPLE),
]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(range(len(PARSERS))), data=st.data())
def test_any_mutation_parses_or_raises_contract_error_only(which: int, data: st.DataObject) -> None:
    parse, example = PARSERS[which]
    path = data.draw(st.sampled_from(paths_of(example)))
    value = data.draw(st.just(DELETE) | json_values)
    document = mutated(example, path, value)
    try:
        parse(document)
    except ContractError as exc:
        assert exc.reason == "malformed"


@settings(max_examples=200)
@given(json_values)
def test_any_json_parses_or_raises_contract_error_only(value: Any) -> None:
    for parse in (parse_rule_set, parse_wallet, parse_product, parse_purse, parse_catalog_header):
        try:
            parse(value)
        except ContractError as exc:
            assert exc.reason == "malformed"


# --------------------------------------------------------------------------- catalog lines at once

_TRICKY_VALUES: list[Any] = [
    None,
    True,
    False,
    -1,
    0,
    1,
    2**63 - 1,
    2**63,
    1.5,
    float("inf"),
    "",
    " ",
    "kg",
    "l",
    "piece",
    "KG",
    "dairy",
    " dairy",
    "dairy ",
    "یسنا",
    "\ud800",
    "x" * 200,
    "x" * 201,
    "12345678",
    "1234567",
    "123456789012345",
    "62600000000a0",
    "٦٢٦٠٠٠٠٠٠٠٠٠٠",
    [],
    ["milk"],
    ["milk", "milk"],
    [" milk"],
    [""],
    ["\ud800"],
    [1],
    ("milk",),
    {"nested": 1},
]
# Anything a catalog line might hold: the values above, and more of each kind.
_LINE_VALUES = st.one_of(
    st.sampled_from(_TRICKY_VALUES),
    st.integers(min_value=-3, max_value=2**63 + 3),
    st.text(max_size=12),
    st.lists(st.sampled_from(["milk", "milk", " x", "", "\ud800", "y" * 201]), max_size=3),
    st.lists(st.sampled_from(["milk", "yasna_food", "z"]), max_size=3, unique=True).map(tuple),
)
_LINE_KEYS = st.sampled_from(
    [
        "gtin",
        "name_fa",
        "name_en",
        "category",
        "unit",
        "groups",
        "max_unit_price_rial",
        "deleted",
        "extra",
    ]
)


_GOOD_LINE = {
    "gtin": "6260000000017",
    "name_fa": "شیر",
    "name_en": "Milk",
    "category": "dairy",
    "unit": "l",
    "groups": ["milk"],
    "max_unit_price_rial": 500_000,
    "deleted": False,
}
# Lines near a good one (a field or two changed or gone) and lines made of anything.
_LINES = st.one_of(
    st.builds(
        lambda changed, gone: {k: v for k, v in {**_GOOD_LINE, **changed}.items() if k not in gone},
        st.dictionaries(_LINE_KEYS, _LINE_VALUES, max_size=2),
        st.sets(_LINE_KEYS, max_size=2),
    ),
    st.dictionaries(_LINE_KEYS, _LINE_VALUES, max_size=9),
)


@settings(max_examples=4000, deadline=None)
@given(_LINES)
def test_a_catalog_line_read_at_once_is_read_as_the_field_by_field_reader_reads_it(
    data: dict[str, Any],
) -> None:
    from pos_client.domain.contract import _product, _product_at_once

    fast = _product_at_once(data)
    try:
        slow = _product(data, "")
    except ContractError:
        slow = None
    if fast is not None:
        assert fast == slow  # never accepts what the reader refuses, never reads it otherwise
    # And whatever it gives up on, parse_product still answers as the reader does.
    if slow is None:
        with pytest.raises(ContractError):
            parse_product(data)
    else:
        assert parse_product(data) == slow


def test_a_catalog_line_with_any_one_field_changed_or_gone_is_read_as_the_reader_reads_it() -> None:
    from pos_client.domain.contract import _product, _product_at_once

    lines = [{k: v for k, v in _GOOD_LINE.items() if k != gone} for gone in _GOOD_LINE]
    for deleted in (False, True):
        for key in [*_GOOD_LINE, "extra"]:
            for value in _TRICKY_VALUES:
                lines.append({**_GOOD_LINE, "deleted": deleted, key: value})
                lines.append({"gtin": "6260000000017", "deleted": deleted, key: value})
    for line in lines:
        fast = _product_at_once(line)
        try:
            slow = _product(line, "")
        except ContractError:
            slow = None
        assert fast is None or fast == slow, line


def test_good_catalog_lines_are_read_at_once() -> None:
    from pos_client.domain.contract import _product_at_once
    from pos_client.sandbox.products import make_product

    for index in range(1, 400):
        product = make_product(index, 7).product
        line = load_json(dump_json(product_to_wire(product)))
        assert _product_at_once(line) == product
    deleted = {"gtin": "6260000000017", "deleted": True}
    assert _product_at_once(deleted) == parse_product(deleted)


# --------------------------------------------------------------------------- tolerant readers


def sent_as(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """``document`` with ``path`` set to ``value``, or left out (whether it was there or not)."""
    if value is not DELETE:
        return mutated(document, path, value)
    result = copy.deepcopy(document)
    target: Any = result
    for key in path[:-1]:
        target = target[key]
    target.pop(path[-1], None)
    return result


NOT_GIVEN: list[Any] = [DELETE, None, ""]

OPTIONAL_TEXT: list[tuple[Any, tuple[str | int, ...], Callable[[Any], Any], Any]] = [
    (WALLET_EXAMPLE, ("beneficiary", "display_name"), lambda w: w.beneficiary.display_name, ""),
    (WALLET_EXAMPLE, ("beneficiary", "city"), lambda w: w.beneficiary.city, None),
    (WALLET_EXAMPLE, ("purses", 0, "label_fa"), lambda w: w.purses[0].label_fa, ""),
    (WALLET_EXAMPLE, ("purses", 0, "valid_from"), lambda w: w.purses[0].valid_from, None),
    (WALLET_EXAMPLE, ("purses", 1, "expires_at"), lambda w: w.purses[1].expires_at, None),
    (WALLET_EXAMPLE, ("purses", 2, "city"), lambda w: w.purses[2].city, None),
    (RULES_EXAMPLE, ("categories", 0, "parent"), lambda r: r.categories[0].parent, None),
    (RULES_EXAMPLE, ("categories", 0, "name_en"), lambda r: r.categories[0].name_en, ""),
    (PRODUCT_EXAMPLE, ("unit",), lambda p: p.unit, Unit.PIECE),
    (PRODUCT_EXAMPLE, ("name_en",), lambda p: p.name_en, ""),
]


@pytest.mark.parametrize("sent", NOT_GIVEN, ids=["absent", "null", "empty"])
@pytest.mark.parametrize(
    ("example", "path", "read", "meaning"),
    OPTIONAL_TEXT,
    ids=[".".join(map(str, case[1])) for case in OPTIONAL_TEXT],
)
def test_an_optional_text_absent_null_or_empty_means_not_given(
    example: Any, path: tuple[str | int, ...], read: Callable[[Any], Any], meaning: Any, sent: Any
) -> None:
    parse = {id(WALLET_EXAMPLE): parse_wallet, id(RULES_EXAMPLE): parse_rule_set}.get(
        id(example), parse_product
    )
    assert read(parse(sent_as(example, path, sent))) == meaning


OPTIONAL_VALUES: list[tuple[Any, tuple[str | int, ...], Callable[[Any], Any], Any]] = [
    (WALLET_EXAMPLE, ("offline_allowance_rial",), lambda w: w.offline_allowance_rial, 0),
    (WALLET_EXAMPLE, ("purses", 1, "balance_rial"), lambda w: w.purses[1].balance_rial, 0),
    (
        WALLET_EXAMPLE,
        ("beneficiary", "household_size"),
        lambda w: w.beneficiary.household_size,
        None,
    ),
    (
        RULES_EXAMPLE,
        ("programs", 0, "offline", "max_rial_per_transaction"),
        lambda r: r.programs[0].offline.max_rial_per_transaction,
        0,
    ),
    (RULES_EXAMPLE, ("programs", 1, "offline"), lambda r: r.programs[1].offline.allowed, False),
    (PRODUCT_EXAMPLE, ("deleted",), lambda p: p.deleted, False),
    (PRODUCT_EXAMPLE, ("groups",), lambda p: p.groups, ()),
]


@pytest.mark.parametrize("sent", [DELETE, None], ids=["absent", "null"])
@pytest.mark.parametrize(
    ("example", "path", "read", "meaning"),
    OPTIONAL_VALUES,
    ids=[".".join(map(str, case[1])) for case in OPTIONAL_VALUES],
)
def test_an_optional_value_absent_or_null_takes_its_default(
    example: Any, path: tuple[str | int, ...], read: Callable[[Any], Any], meaning: Any, sent: Any
) -> None:
    parse = {id(WALLET_EXAMPLE): parse_wallet, id(RULES_EXAMPLE): parse_rule_set}.get(
        id(example), parse_product
    )
    assert read(parse(sent_as(example, path, sent))) == meaning


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("purses", 0, "balance_rial"), None, "purses[0].balance_rial: not an integer"),
        (("purses", 0, "id"), "", "purses[0].id: not an id"),
        (("purses", 0, "kind"), "", "purses[0].kind: not one of the known values"),
        (("purses", 0, "program"), None, "purses[0].program: not a string"),
        (("requires_otp",), None, "requires_otp: not a boolean"),
        (("beneficiary", "ref"), "", "beneficiary.ref: not an id"),
        (("offline_allowance_rial",), 1.5, "offline_allowance_rial: not an integer"),
    ],
)
def test_a_required_member_empty_or_null_is_still_refused(
    path: tuple[str | int, ...], value: Any, expected: str
) -> None:
    with pytest.raises(ContractError) as excinfo:
        parse_wallet(mutated(WALLET_EXAMPLE, path, value))
    assert expected in excinfo.value.message
