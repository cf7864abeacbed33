"""``pos-client rules sync``: fetch the signed rule set and the catalog (verified before use)."""

from __future__ import annotations

import argparse
import sys

from pos_client.commands.lane import add_config_option, emit_json, run_with_app
from pos_client.compose import Lane
from pos_client.services.refresh import CatalogProgress


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("rules", help="the signed rule set and catalog")
    sub = parser.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    sync = sub.add_parser("sync", help="fetch the rule set and the catalog")
    add_config_option(sync)
    sync.add_argument("--no-catalog", action="store_true", help="the rule set only")
    sync.add_argument("--json", action="store_true", help="print JSON")
    sync.set_defaults(handler=_sync)


def _sync(args: argparse.Namespace) -> int:
    async def work(lane: Lane) -> int:
        rules = await lane.refresh.sync_rules()
        result: dict[str, object] = {
            "rules": {
                "changed": rules.changed,
                "version": rules.version,
                "valid_until": rules.valid_until,
            }
        }
        config = rules.config
        if config is not None:
            result["terminal_config"] = {
                "changed": config.changed,
                "version": config.version,
                "error": config.error,
            }
            if config.error:
                print(f"warning: {config.error}", file=sys.stderr)
        if not args.no_catalog:

            def progress(p: CatalogProgress) -> None:
                if not args.json and sys.stderr.isatty():
                    print(f"\r{p.phase}: {p.done}", end="", file=sys.stderr)

            catalog = await lane.refresh.sync_catalog(progress)
            result["catalog"] = {
                "changed": catalog.changed,
                "version": catalog.version,
                "full": catalog.full,
                "upserted": catalog.upserted,
                "deleted": catalog.deleted,
                "total": catalog.total,
            }
            if catalog.warning is not None:
                result["catalog"]["warning"] = catalog.warning.message  # type: ignore[index]
                print(f"warning: {catalog.warning.message}", file=sys.stderr)
        if args.json:
            emit_json(result)
        else:
            print(f"rules {rules.version} (valid until {rules.valid_until})")
            if config is not None and config.version:
                print(f"terminal config {config.version}")
            if "catalog" in result:
                c = result["catalog"]
                assert isinstance(c, dict)
                print(f"catalog {c['version']}: {c['total']} products")
        return 0

    return run_with_app(args, work)
