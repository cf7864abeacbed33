"""``pos-client demo --chain``: two stores, three lanes enrolled by codes, each selling once."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.cli import cli


def test_demo_chain_enrols_three_lanes_in_two_stores_and_each_sells(tmp_path: Path) -> None:
    result = cli("demo", "--chain", "--data", str(tmp_path / "chain"), timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = re.findall(r"(?m)^(S-\d+)\s+(T-\d+)\s+(\w+)\s+(\S+)$", result.stdout)
    assert sorted(r[0] for r in rows) == ["S-001", "S-001", "S-002"]
    assert len({r[1] for r in rows}) == 3
    assert all(r[2] == "approved" for r in rows)
    assert all(Path(r[3]).exists() for r in rows)
    assert "tok_" not in result.stdout + result.stderr
    assert "adm_" not in result.stdout + result.stderr
    assert result.stdout.count("$ pos-client enrol ") == 3
