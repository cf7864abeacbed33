"""``pos-client config init|check|explain``: write a template (0600), check, explain a config."""

from __future__ import annotations

import argparse

from pos_client.commands.config_explain import register_explain
from pos_client.commands.lane import add_config_option, load
from pos_client.config import default_config_path, write_template


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("config", help="the lane's configuration file")
    sub = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    init = sub.add_parser("init", help="write a commented template to fill in")
    init.add_argument("--path", metavar="P", help="where (default: the usual place)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=_init)
    check = sub.add_parser("check", help="validate the config and say what is wrong")
    add_config_option(check)
    check.set_defaults(handler=_check)
    register_explain(sub)


def _init(args: argparse.Namespace) -> int:
    path = write_template(args.path or default_config_path(), overwrite=args.force)
    print(f"wrote {path}; fill in [terminal] and [ledger], then run `pos-client config check`")
    return 0


def _check(args: argparse.Namespace) -> int:
    config = load(args)
    print(
        f"ok: terminal {config.terminal.id} in {config.terminal.city}, ledger {config.ledger.url}"
    )
    print(f"store: {config.store.path}")
    return 0
