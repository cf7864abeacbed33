"""The lane config: parsing, defaults, validation naming the key, locations, the template."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pos_client.config import (
    CONFIG_ENV,
    default_config_path,
    default_data_dir,
    load_config,
    resolve_config_path,
    write_template,
)
from pos_client.errors import ConfigError

KEY = "BvgjnPwRRxxbeZU_0_o6GeM-Uav3dDiKV4JfFW4J0e0"

GOOD = f"""
[terminal]
id = "T-0001"
city = "rasht"
shop_name = "فروشگاه نمونه"

[ledger]
url = "http://127.0.0.1:8765"
token = "tok_abc"
[ledger.trusted_keys]
k1 = "{KEY}"

[store]
path = "lane.sqlite"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lane.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_minimal_config_gets_the_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.terminal.id == "T-0001"
    assert config.ledger.url == "http://127.0.0.1:8765/"
    assert config.ledger.connect_timeout == 3.0 and config.ledger.read_timeout == 10.0
    assert len(config.ledger.trusted_keys["k1"]) == 32
    assert config.store.path == tmp_path / "lane.sqlite"
    assert config.offline.enabled and config.offline.max_hours_since_contact == 24
    assert config.ui.language == "fa" and config.devices.scanners == ()


def test_the_token_never_shows_in_repr(tmp_path: Path) -> None:
    assert "tok_abc" not in repr(load_config(write(tmp_path, GOOD)))


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (
            ('url = "http://127.0.0.1:8765"', 'url = "http://ledger.example/"'),
            "ledger.url",
            "must be https unless the host is loopback",
        ),
        (('url = "http://127.0.0.1:8765"', 'url = "ftp://x/"'), "ledger.url", "https"),
        (('token = "tok_abc"', 'token = ""'), "ledger.token", "token"),
        (('id = "T-0001"', 'id = "T 1"'), "terminal.id", "letters"),
        (('city = "rasht"', "city = 3"), "terminal.city", "string"),
        (
            ("[store]", "[offline]\nmax_hours_since_contact = -1\n[store]"),
            "offline.max_hours_since_contact",
            "between",
        ),
        (("[store]", "[offline]\nenabled = 1\n[store]"), "offline.enabled", "true or false"),
        (("[store]", '[ui]\nlanguage = "de"\n[store]'), "ui.language", "one of fa, en"),
        (
            ("[store]", "[offline]\nmax_hours_since_contac = 3\n[store]"),
            "offline.max_hours_since_contac",
            "unknown key",
        ),
        ((f'k1 = "{KEY}"', 'k1 = "not base64!"'), "ledger.trusted_keys.k1", "base64url"),
        ((f'k1 = "{KEY}"', 'k1 = "AAAA"'), "ledger.trusted_keys.k1", "32 bytes"),
        (("[store]", '[devices]\nprinter = "lp0"\n[store]'), "devices.printer", "device URL"),
        (("[store]", "[extra]\n[store]"), "extra", "unknown section"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(
    tmp_path: Path, change: tuple[str, str], key: str, words: str
) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert caught.value.key == key
    assert caught.value.message.startswith(f"{key}: ")
    assert words in caught.value.message


def test_https_to_any_host_is_fine(tmp_path: Path) -> None:
    text = GOOD.replace('url = "http://127.0.0.1:8765"', 'url = "https://ledger.example/api"')
    assert load_config(write(tmp_path, text)).ledger.url == "https://ledger.example/api/"


def test_missing_sections_and_files_and_bad_toml_say_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="terminal"):
        load_config(write(tmp_path, "[ledger]\nurl='https://x/'\ntoken='t'\n"))
    with pytest.raises(ConfigError, match="config init"):
        load_config(tmp_path / "nothing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[terminal\n"))


def test_the_env_variable_and_the_platform_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    assert resolve_config_path(None, environ={CONFIG_ENV: str(path)}) == path
    assert load_config(environ={CONFIG_ENV: str(path)}).terminal.id == "T-0001"
    assert resolve_config_path("x.toml", environ={CONFIG_ENV: str(path)}) == Path("x.toml")
    env = {"HOME": "/home/shop", "XDG_CONFIG_HOME": "/cfg", "XDG_DATA_HOME": "/data"}
    assert default_config_path(environ=env, platform="linux") == Path("/cfg/pos-client/config.toml")
    assert default_data_dir(environ=env, platform="linux") == Path("/data/pos-client")
    assert default_config_path(environ={"HOME": "/home/shop"}, platform="linux") == Path(
        "/home/shop/.config/pos-client/config.toml"
    )
    assert "Application Support" in str(default_config_path(environ=env, platform="darwin"))
    win = {"HOME": "C:/Users/shop", "APPDATA": "C:/AppData/Roaming"}
    assert default_config_path(environ=win, platform="win32").parts[-2:] == (
        "pos-client",
        "config.toml",
    )


def test_without_a_store_path_the_store_goes_to_the_data_folder(tmp_path: Path) -> None:
    text = GOOD.replace('[store]\npath = "lane.sqlite"', "")
    config = load_config(write(tmp_path, text), environ={"XDG_DATA_HOME": str(tmp_path / "d")})
    assert config.store.path == tmp_path / "d" / "pos-client" / "lane-T-0001.sqlite"


def test_the_template_is_private_and_parses(tmp_path: Path) -> None:
    path = write_template(tmp_path / "sub" / "config.toml")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    config = load_config(path)
    assert config.ledger.url.startswith("https://")
    with pytest.raises(ConfigError, match="already exists"):
        write_template(path)
    write_template(path, overwrite=True)


def test_the_sale_budget_and_the_stuck_limit_are_lane_settings(tmp_path: Path) -> None:
    from pos_client.compose import sale_budget, stuck_after

    default = load_config(write(tmp_path, GOOD))
    assert sale_budget(default) == 15.0 and stuck_after(default).total_seconds() == 6 * 3600
    tuned = load_config(
        write(
            tmp_path,
            GOOD.replace(
                'token = "tok_abc"', 'token = "tok_abc"\nsale_budget_s = 20\nstuck_after_hours = 2'
            ),
        )
    )
    assert sale_budget(tuned) == 20.0 and stuck_after(tuned).total_seconds() == 2 * 3600
    for key, value in (("sale_budget_s", 1), ("stuck_after_hours", 0)):
        with pytest.raises(ConfigError) as caught:
            load_config(
                write(
                    tmp_path,
                    GOOD.replace('token = "tok_abc"', f'token = "tok_abc"\n{key} = {value}'),
                )
            )
        assert caught.value.key == f"ledger.{key}"
