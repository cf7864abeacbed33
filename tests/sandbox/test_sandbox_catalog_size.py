"""The smallest catalog the sandbox allows: only the anchor products, one per template."""

from __future__ import annotations

from pathlib import Path

from pos_client.cli import main
from pos_client.domain.contract import parse_catalog
from pos_client.domain.signing import b64url_decode, verify_document
from pos_client.sandbox.products import ANCHOR_COUNT, gtin_for_index, index_for_gtin
from pos_client.sandbox.server import start_sandbox
from tests.support.lane import lane


def test_the_cli_takes_the_anchor_count_as_its_smallest_catalog(tmp_path: Path) -> None:
    # The CLI's minimum (39) is the anchor count; one product less is refused before
    # anything starts.
    assert ANCHOR_COUNT == 39
    assert main(["sandbox", "--data", str(tmp_path / "d"), "--catalog-size", "38"]) == 2
    assert not (tmp_path / "d").exists()


async def test_a_sandbox_with_the_smallest_catalog_starts_and_serves_it(tmp_path: Path) -> None:
    with start_sandbox(tmp_path / "data", catalog_size=ANCHOR_COUNT) as sandbox:
        keys = {
            sandbox.info["signing_key"]["kid"]: b64url_decode(
                sandbox.info["signing_key"]["public_key"]
            )
        }
        with sandbox.client() as client:
            rules = client.get("/v1/rules").json()
            response = client.get("/v1/catalog")
            assert response.status_code == 200, response.text
            verify_document(response.content, response.headers["x-signature"], trusted_keys=keys)
            catalog = parse_catalog(response.content)
            assert catalog.full and catalog.version == rules["catalog"]["version"]
            gtins = {p.gtin for p in catalog.products}
            # every anchor product (the demo's samples) is there, unchanged by the revision
            anchors = {gtin_for_index(i) for i in range(1, ANCHOR_COUNT + 1)}
            assert anchors <= gtins
            samples = {p["gtin"] for p in sandbox.info["sample_products"]}
            assert samples == anchors
            # the first revision could only add products: there is nothing else to change
            added = gtins - anchors
            assert added and all((index_for_gtin(g) or 0) > ANCHOR_COUNT for g in added)
            delta = parse_catalog(client.get("/v1/catalog", params={"since": "c-000001"}).content)
            assert {p.gtin for p in delta.products} == added
            assert not any(p.deleted for p in delta.products)

            # a further revision works too, and the lane reads the catalog as a delta
            newer = sandbox.revise_catalog(changes=3)
            step = parse_catalog(
                client.get("/v1/catalog", params={"since": catalog.version}).content
            )
            assert step.version == newer and len(step.products) == 3
        async with lane(sandbox) as app:
            assert app.store.catalog_state()[0] == newer
            assert app.store.catalog_state()[2] == len(gtins) + 3
            for gtin in anchors:
                assert app.store.product(gtin) is not None
