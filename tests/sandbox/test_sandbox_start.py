"""The sandbox's first start (files under DATA, demo world) and a restart on the same DATA."""

from __future__ import annotations

import stat
import tomllib
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from pos_client.domain.contract import parse_rule_set, parse_wallet
from pos_client.domain.national_id import is_valid_national_id, national_id_hash
from pos_client.domain.signing import b64url_decode, verify_document
from pos_client.domain.tokens import verify_token
from pos_client.errors import ConfigError
from pos_client.sandbox.server import RunningSandbox, start_sandbox
from tests.sandbox.support import new_id, post, purses, simple_spend


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_writes_private_files(sandbox: RunningSandbox) -> None:
    data = sandbox.data_dir
    assert _mode(data / "signing-key.pem") == 0o600
    assert _mode(data / "sandbox.json") == 0o600
    assert _mode(data / "ledger.sqlite") == 0o600
    for terminal in sandbox.info["terminals"]:
        assert _mode(sandbox.config_path(terminal["terminal_id"])) == 0o600
    assert (data / "ledger.sqlite").exists()


def test_sandbox_json_lists_url_key_terminals_and_households(sandbox: RunningSandbox) -> None:
    info = sandbox.info
    assert info["url"] == sandbox.url
    assert info["signing_key"]["alg"] == "Ed25519"
    assert len(b64url_decode(info["signing_key"]["public_key"])) == 32
    terminals = {t["terminal_id"]: t for t in info["terminals"]}
    assert set(terminals) == {"T-0001", "T-0002", "T-0003"}
    assert {t["city"] for t in terminals.values()} == {"rasht", "tehran"}
    assert all(t["token"].startswith("tok_") for t in terminals.values())
    keys = {h["key"] for h in info["households"]}
    assert {"kalabarg", "yasna", "blocked", "expired_tranche", "low_balance", "large"} <= keys
    for household in info["households"]:
        assert is_valid_national_id(household["national_id"])
        assert household["purses"], household["key"]
    assert len({h["national_id"] for h in info["households"]}) == len(info["households"])


@pytest.mark.parametrize("terminal_id", ["T-0001", "T-0002", "T-0003"])
def test_lane_config_is_ready_to_use(sandbox: RunningSandbox, terminal_id: str) -> None:
    config = tomllib.loads(sandbox.config_path(terminal_id).read_text(encoding="utf-8"))
    terminal = sandbox.terminal(terminal_id)
    assert config["terminal"]["id"] == terminal_id
    assert config["terminal"]["city"] == terminal["city"]
    assert config["ledger"]["url"] == sandbox.url
    assert config["ledger"]["token"] == terminal["token"]
    assert config["store"]["path"] == f"lane-{terminal_id}.sqlite"
    assert not Path(config["store"]["path"]).is_absolute()
    assert config["devices"]["scanners"] == [f"virtual://lane-{terminal_id}"]
    assert config["ui"]["language"] in ("fa", "en")
    assert config["offline"]["max_rial_per_transaction"] == 5_000_000
    trusted = {kid: b64url_decode(key) for kid, key in config["ledger"]["trusted_keys"].items()}
    # The lane's trusted keys verify what the sandbox signs.
    with httpx.Client(
        base_url=config["ledger"]["url"],
        headers={"Authorization": f"Bearer {config['ledger']['token']}"},
    ) as client:
        response = client.get("/v1/rules")
        assert response.status_code == 200
        verify_document(response.content, response.headers["x-signature"], trusted_keys=trusted)


def test_demo_world_looks_like_the_programme(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        rules = parse_rule_set(client.get("/v1/rules").json())
    leaves = {c.id: c.parent for c in rules.categories if c.parent is not None}
    eleven = {
        "milk-lowfat",
        "yoghurt",
        "cheese",
        "chicken",
        "red-meat",
        "eggs",
        "oil",
        "pasta",
        "sugar",
        "rice",
        "legumes",
    }
    assert eleven | {"fish", "poultry"} <= set(leaves)
    assert leaves["milk-lowfat"] == leaves["yoghurt"] == leaves["cheese"] == "dairy"
    assert leaves["fish"] == leaves["poultry"] == "protein"
    assert {p.id for p in rules.programs} == {"kalabarg", "yasna", "donor"}
    assert rules.program("kalabarg").offline.allowed  # type: ignore[union-attr]
    assert not rules.program("yasna").offline.allowed  # type: ignore[union-attr]
    blocked = sandbox.household("blocked")
    assert national_id_hash(blocked["national_id"]) in rules.hot_list
    assert national_id_hash(sandbox.household("kalabarg")["national_id"]) not in rules.hot_list

    now = datetime.fromisoformat(rules.issued_at.isoformat())
    kalabarg = parse_wallet({**_wallet_stub(), "purses": sandbox.household("kalabarg")["purses"]})
    tranches = [p for p in kalabarg.purses if p.program == "kalabarg"]
    assert len(tranches) == 2
    assert tranches[0].is_valid_at(now) and not tranches[1].is_valid_at(now)  # 8 not unlocked
    donor = [p for p in kalabarg.purses if p.program == "donor"]
    assert donor and donor[0].city == "rasht"
    yasna = parse_wallet({**_wallet_stub(), "purses": sandbox.household("yasna")["purses"]})
    groups = {e.group for p in yasna.purses for e in p.entitlements}
    assert {"diaper-s3", "diaper-s4", "infant-food", "hygiene"} <= groups
    expired = parse_wallet(
        {**_wallet_stub(), "purses": sandbox.household("expired_tranche")["purses"]}
    )
    assert any(p.expires_at is not None and p.expires_at < now for p in expired.purses)
    products = sandbox.info["sample_products"]
    assert any("diaper-s3" in p["groups"] and p["max_unit_price_rial"] for p in products)


def _wallet_stub() -> dict[str, object]:
    return {"beneficiary": {"ref": "b_x"}, "requires_otp": False, "offline_allowance_rial": 0}


def test_a_second_start_continues_the_same_books(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with start_sandbox(data) as first:
        with first.client() as client:
            body = simple_spend(first, client, amount=2_000_000)
            response = post(client, body)
            assert response.status_code == 201
            stored = response.content
            nid = first.household("kalabarg")["national_id"]
            before = purses(client, nid)
        unused_token = first.mint_token(nid)
        info = first.info
    with start_sandbox(data) as second:
        assert second.info["signing_key"] == info["signing_key"]
        assert [t["token"] for t in second.info["terminals"]] == [
            t["token"] for t in info["terminals"]
        ]
        with second.client() as client:
            assert client.get(f"/v1/redemptions/{body['id']}").content == stored
            replay = post(client, body)
            assert replay.status_code == 200 and replay.content == stored
            assert purses(client, nid) == before
            # A token minted before the restart still verifies and works once.
            inquiry = client.post("/v1/wallet-inquiries", json={"token": unused_token})
            assert inquiry.status_code == 200
            again = dict(body, id=new_id(), beneficiary={"token": unused_token})
            assert post(client, again).json()["status"] == "approved"
        keys = {
            second.info["signing_key"]["kid"]: b64url_decode(
                second.info["signing_key"]["public_key"]
            )
        }
        claims = verify_token(unused_token, keys=keys, now=datetime.now().astimezone())
        assert claims.national_id == nid


def test_settings_of_the_first_start_are_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with start_sandbox(data, catalog_size=100, seed=7) as first:
        info = first.info
    with start_sandbox(data) as second:  # no size or seed: what DATA holds
        assert second.info["catalog"] == info["catalog"]
        assert second.info["households"][0]["national_id"] == info["households"][0]["national_id"]
    with pytest.raises(ConfigError):
        with start_sandbox(data, catalog_size=200):
            pass
    with pytest.raises(ConfigError):
        with start_sandbox(data, seed=8):
            pass


def test_the_seed_decides_the_demo_households(tmp_path: Path) -> None:
    with start_sandbox(tmp_path / "a", seed=1, catalog_size=50) as a:
        ids_a = [h["national_id"] for h in a.info["households"]]
    with start_sandbox(tmp_path / "b", seed=1, catalog_size=50) as b:
        ids_b = [h["national_id"] for h in b.info["households"]]
    with start_sandbox(tmp_path / "c", seed=2, catalog_size=50) as c:
        ids_c = [h["national_id"] for h in c.info["households"]]
    assert ids_a == ids_b
    assert ids_a != ids_c
