"""The token in the lane's config file: replaced atomically and privately, read again on change."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pos_client.adapters.lane_token import TokenFile, write_token
from pos_client.errors import ConfigError

CONFIG = """\
# a lane
[terminal]
id = "T-0001"
token = "not-the-ledger-one"   # another table's key of the same name stays

[ledger]
url = "http://127.0.0.1:1/"
token = "tok_old"          # the terminal's bearer token
read_timeout_ms = 10000
"""


def _config(tmp_path: Path, text: str = CONFIG) -> Path:
    path = tmp_path / "lane.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o644)
    return path


def test_only_the_ledger_token_changes_and_the_file_is_private(tmp_path: Path) -> None:
    path = _config(tmp_path)
    write_token(path, "tok_new")
    assert path.read_text(encoding="utf-8") == CONFIG.replace('"tok_old"', '"tok_new"')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["lane.toml"]  # no temporary file left


def test_a_file_without_a_ledger_token_line_is_left_alone(tmp_path: Path) -> None:
    text = CONFIG.replace('token = "tok_old"          # the terminal\'s bearer token\n', "")
    path = _config(tmp_path, text)
    with pytest.raises(ConfigError) as refused:
        write_token(path, "tok_new")
    assert "tok_new" not in refused.value.message
    assert path.read_text(encoding="utf-8") == text


def test_a_running_lane_reads_the_token_again_only_when_the_file_changed(tmp_path: Path) -> None:
    path = _config(tmp_path)
    source = TokenFile(path, "tok_old")
    assert source.current() == "tok_old"
    write_token(path, "tok_new")  # another process rotated it
    assert source.current() == "tok_new"
    path.write_text("not toml [", encoding="utf-8")  # half-edited by a person: keep the last
    assert source.current() == "tok_new"
