"""The config check: can the file be read, is it private, does it hold keys for the rules.

An unreadable or invalid config is :func:`config_unreadable` (the command
exits 2 for it); a file that other users may change is refused when it is
loaded, so it lands there too, with the ``chmod`` that fixes it.

Imports the standard library, the config and the doctor's texts only.
"""

from __future__ import annotations

import logging
import os
import tomllib

from pos_client.config import Config, ConfigFileError, load_config, resolve_config_path
from pos_client.errors import ConfigError
from pos_client.services.doctor.base import Check, Finding, Verdict, combine
from pos_client.services.doctor_texts import Lang, say

__all__ = ["config_unreadable", "judge_config", "peek_language", "read_config"]

log = logging.getLogger(__name__)

#: What the doctor says of a config file that cannot be used, by the reason it was refused.
_FILE_REASONS = {
    "missing": ("config.missing", "config.missing.advice"),
    "unreadable": ("config.cannot_read", "config.cannot_read.advice"),
    "writable": ("config.writable", "config.writable.advice"),
    "not_toml": ("config.not_toml", "config.not_toml.advice"),
}


def peek_language(path: str | os.PathLike[str] | None) -> Lang | None:
    """``ui.language`` from a config file that may not validate (best effort, never raises)."""
    try:
        data = tomllib.loads(resolve_config_path(path).read_text(encoding="utf-8"))
        value = data.get("ui", {}).get("language")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError, TypeError):
        return None
    return value if value in ("fa", "en") else None


def config_unreadable(error: ConfigError, *, path: str, lang: Lang) -> Check:
    """The check for a config that cannot be read or validated (it names the key).

    In English the config's own message is shown; in Persian a sentence in
    Persian says which key (or what about the file) is wrong, and
    ``pos-client config check`` shows the details.
    """
    key = error.key or "config"
    log.info("doctor: the config cannot be used: %s", error.message)
    if isinstance(error, ConfigFileError) and error.reason in _FILE_REASONS:
        detail_key, advice_key = _FILE_REASONS[error.reason]
        message = error.message if lang == "en" else say(lang, detail_key, path=path)
        return Check(
            "config",
            Verdict.FAILED,
            say(lang, "config.unreadable", message=message),
            say(lang, advice_key, path=path),
        )
    if key == "config":
        message = error.message if lang == "en" else say(lang, "config.not_toml", path=path)
        return Check(
            "config",
            Verdict.FAILED,
            say(lang, "config.unreadable", message=message),
            say(lang, "config.missing.advice"),
        )
    message = error.message if lang == "en" else say(lang, "config.bad_key", key=key)
    return Check(
        "config",
        Verdict.FAILED,
        say(lang, "config.unreadable", message=message),
        say(lang, "config.unreadable.advice", key=key, path=path),
    )


def read_config(
    path: str | os.PathLike[str] | None, *, lang: Lang | None = None
) -> tuple[Config | None, Check | None, Lang]:
    """Load the config: ``(config, None, lang)``, or ``(None, failed check, lang)``.

    ``lang`` is the one asked for, else the config's ``ui.language`` (read even
    from a file that does not validate, if it can be), else Persian.
    """
    shown = str(resolve_config_path(path))
    try:
        config = load_config(path)
    except ConfigError as exc:
        chosen: Lang = lang or peek_language(path) or "fa"
        return None, config_unreadable(exc, path=shown, lang=chosen), chosen
    chosen = lang or ("en" if config.ui.language == "en" else "fa")
    return config, None, chosen


def config_mode(config: Config) -> int | None:
    """The config file's mode bits, if it can be looked at."""
    if config.source is None:
        return None
    try:
        return config.source.stat().st_mode
    except OSError:
        return None


def judge_config(config: Config, *, mode: int | None, lang: Lang) -> Check:
    """A loaded config: is the file private, and does it hold keys to check the rules with?"""
    path = str(config.source) if config.source else "-"
    findings = [
        Finding(
            Verdict.OK,
            say(
                lang,
                "config.ok",
                terminal=config.terminal.id,
                city=config.terminal.city,
                url=config.ledger.url,
                path=path,
            ),
        )
    ]
    if mode is not None and mode & 0o077:
        findings.append(
            Finding(
                Verdict.WARNING,
                say(lang, "config.open_mode", path=path),
                say(lang, "config.open_mode.advice", path=path),
            )
        )
    if not config.ledger.trusted_keys:
        findings.append(
            Finding(
                Verdict.WARNING,
                say(lang, "config.no_keys"),
                say(lang, "config.no_keys.advice"),
            )
        )
    return combine("config", findings, lang)
