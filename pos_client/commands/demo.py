"""``pos-client demo``: the whole checkout on one machine, in training mode.

Starts a sandbox ledger on a free loopback port with its demo households and
catalog (in a temporary folder unless ``--data`` is given), gives the demo
shop a price for every product, opens a virtual scanner that another terminal
can scan into (``pos-client scan --lane NAME TEXT``), and runs the checkout
screen with a training banner. Before the screen starts it prints what to
try: national IDs, how to mint a QR token, purchase codes, products; the same
is on the help screen (F1) and in ``DATA/demo-help.txt``.

``pos-client run [--config FILE]`` runs the checkout screen for a real lane.

Handlers stay thin: the sandbox, the composition root and the Textual App do
the work.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pos_client.commands import add_runtime_dir
from pos_client.commands.lane import NEW_STORE_HELP
from pos_client.commands.output import terminal_qr
from pos_client.config import Config, load_config
from pos_client.errors import ConfigError, PosError, StoreError

if TYPE_CHECKING:
    from pos_client.compose import Lane

__all__ = ["register"]

log = logging.getLogger(__name__)

DEMO_TERMINAL = "T-0001"
#: What the demo's virtual scale weighs (grams): products sold by weight read it.
DEMO_GRAMS = 1250
#: The demo households shown first, with what each is good for.
TRY_HOUSEHOLDS = ("kalabarg", "yasna", "low_balance", "blocked")
#: Sample products to suggest (their positions in the sandbox's sample list).
TRY_PRODUCTS = (0, 3, 6, 10, 15, 21, 27, 32)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="try the checkout: a sandbox ledger, a virtual scanner, training mode",
        description=(
            "Start a sandbox ledger with demo households, a virtual scanner and the "
            "checkout screen in training mode. Nothing here is a real sale."
        ),
    )
    demo.add_argument(
        "--data", type=Path, help="keep the sandbox's data here (default: a temp dir)"
    )
    demo.add_argument("--lang", choices=("fa", "en"), default="fa", help="screen language")
    demo.add_argument("--currency", choices=("toman", "rial"), default="toman")
    demo.add_argument(
        "--rtl",
        choices=("app", "terminal"),
        default="app",
        help="who orders right-to-left text: this program (most terminals) or the terminal",
    )
    demo.add_argument("--lane", metavar="NAME", help="the virtual scanner's name (default: demo)")
    demo.add_argument(
        "--no-wait", action="store_true", help="start the screen at once, without asking for Enter"
    )
    demo.add_argument(
        "--chain",
        action="store_true",
        help="instead: a chain enrols three lanes in two stores with store codes, each sells once",
    )
    add_runtime_dir(demo)
    demo.set_defaults(handler=_run_demo)

    run = subparsers.add_parser(
        "run",
        help="run the checkout screen for this lane",
        description="Run the checkout screen with the lane's configuration.",
    )
    run.add_argument(
        "--config", metavar="FILE", help="the lane's config file (default: $POS_CLIENT_CONFIG)"
    )
    add_runtime_dir(run)
    run.add_argument("--new-store", action="store_true", help=NEW_STORE_HELP)
    run.set_defaults(handler=_run_lane)


# --------------------------------------------------------------------------- run


def _run_lane(args: argparse.Namespace) -> int:
    from pos_client.compose import check_store, claim_lane

    config = load_config(args.config)
    log_file = Path(config.store.path).with_suffix(".log")
    try:
        if not args.new_store:
            # Before anything is made beside the store (its log): a store that is not
            # there is refused, never taken for a new lane.
            check_store(config)
        # One owner per lane's store: the screen or the lane agent, never both.
        owner = claim_lane(config, holder="screen")
    except StoreError as exc:
        print(f"pos-client: {exc.message}", file=sys.stderr)
        return 2
    with owner, _log_to(log_file):
        try:
            return asyncio.run(
                _serve(
                    config,
                    training=False,
                    guide=None,
                    runtime_dir=args.runtime_dir,
                    new_store=args.new_store,
                )
            )
        except StoreError as exc:
            # The store is not fit to sell on (missing, empty, another, damaged): one
            # sentence before any screen, never a screen that shows "0 pending".
            print(f"pos-client: {exc.message}", file=sys.stderr)
            return 2


async def _serve(
    config: Config,
    *,
    training: bool,
    guide: Any,
    prepare: Any = None,
    language: str | None = None,
    currency: str | None = None,
    rtl: str | None = None,
    runtime_dir: str | None = None,
    new_store: bool = False,
) -> int:
    from pos_client.compose import build_app
    from pos_client.tui.app import make_app

    lane = build_app(config, devices=True, training=training, new_store=new_store)
    try:
        if prepare is not None:
            prepare(lane)
        app = make_app(
            lane,
            training=training,
            guide=guide,
            language=language,  # type: ignore[arg-type]
            currency=currency,  # type: ignore[arg-type]
            rtl=rtl,
            runtime_dir=Path(runtime_dir) if runtime_dir else None,
        )
        for problem in lane.devices_errors:
            log.warning("device: %s", problem)
        await app.run_async()
        return int(app.return_code or 0)
    finally:
        await lane.aclose()


@contextlib.contextmanager
def _log_to(path: Path) -> Iterator[None]:
    """While the screen runs, log to a file (a log line on the terminal would tear the screen)."""
    root = logging.getLogger()
    saved = root.handlers[:]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    handler = logging.StreamHandler(os.fdopen(fd, "a", encoding="utf-8"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers = [handler]
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.handlers = saved
        handler.close()


# --------------------------------------------------------------------------- demo


def _free_lane_name(wanted: str | None, runtime_dir: str | None = None) -> str:
    from drivers.scanner.virtual import scanner_link
    from drivers.virtual import is_live

    if wanted:
        return wanted
    for index in range(1, 100):
        name = "demo" if index == 1 else f"demo-{index}"
        link = scanner_link(name, runtime_dir)
        if not (link.is_symlink() and is_live(link)):
            return name
    raise ConfigError("no free name for the demo's virtual scanner; pass --lane NAME", key="lane")


def _run_demo(args: argparse.Namespace) -> int:
    from pos_client.sandbox.server import start_sandbox

    if args.chain:
        from pos_client.commands.demo_chain import run

        return run(args)

    owned = args.data is None
    data = Path(tempfile.mkdtemp(prefix="pos-client-demo-")) if owned else Path(args.data)
    try:
        lane_name = _free_lane_name(args.lane, args.runtime_dir)
        with _log_to(data / "pos-client.log"), start_sandbox(data / "sandbox") as sandbox:
            config = load_config(sandbox.config_path(DEMO_TERMINAL))
            config = replace(
                config,
                devices=replace(
                    config.devices,
                    scanners=(f"virtual://{lane_name}",),
                    scale=f"virtual-scale://{lane_name}?weight={DEMO_GRAMS}",
                ),
            )
            guide, text = _guide(
                sandbox, lane_name, data, args.runtime_dir, ledger_url=config.ledger.url
            )
            help_file = data / "demo-help.txt"
            _write_private(help_file, text)
            print(text, end="")
            if not args.no_wait and sys.stdin.isatty():
                with contextlib.suppress(EOFError):
                    input("Press Enter to start the checkout screen (Ctrl-Q quits it)... ")
            code = asyncio.run(
                _serve(
                    config,
                    training=True,
                    guide=guide,
                    prepare=lambda lane: _price_everything(sandbox, lane),
                    language=args.lang,
                    currency=args.currency,
                    rtl=args.rtl,
                    runtime_dir=args.runtime_dir,
                )
            )
        print("Demo stopped." + ("" if owned else f" Its data is kept in {data}."))
        return code
    except PosError:
        raise
    finally:
        if owned:
            shutil.rmtree(data, ignore_errors=True)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _price_everything(sandbox: Any, lane: Lane) -> None:
    """The demo shop's price list: every catalog product at the sandbox's shelf price."""
    from pos_client.sandbox.products import make_product
    from pos_client.services.prices import PriceRow

    settings = sandbox.sandbox.settings
    rows = (
        PriceRow(made.product.gtin, made.price_rial)
        for made in (make_product(i, settings.seed) for i in range(1, settings.catalog_size + 1))
    )
    lane.records.import_prices(rows)


def _guide(
    sandbox: Any,
    lane_name: str,
    data: Path,
    runtime_dir: str | None = None,
    *,
    ledger_url: str | None = None,
) -> tuple[Any, str]:
    """What to try, for the help screen and for the terminal (one text for both).

    With ``ledger_url`` (the lane's ledger, which must be this sandbox) the screen
    gets the training key that switches the sandbox ledger off and on again.
    """
    from pos_client.commands.training import SandboxOutage
    from pos_client.sandbox.admin import PURCHASE_CODE_LIFETIME
    from pos_client.tui.app import LEDGER_SWITCH_DISPLAY, DemoGuide

    households = {h["key"]: h for h in sandbox.info["households"]}
    products = sandbox.info.get("sample_products", [])
    chosen = [products[i] for i in TRY_PRODUCTS if i < len(products)]
    first = households.get("kalabarg") or next(iter(households.values()))
    nid = first["national_id"]
    codes = []
    with contextlib.suppress(Exception):  # a convenience: the demo runs without them
        codes = [sandbox.mint_purchase_code(nid) for _ in range(3)]
    minutes = int(PURCHASE_CODE_LIFETIME.total_seconds() // 60)
    sandbox_dir = shlex.quote(str(sandbox.data_dir))
    prog = _program()
    scan = f"{prog} scan --lane {lane_name}"
    if runtime_dir:
        scan += f" --runtime-dir {shlex.quote(runtime_dir)}"
    kb2_token = None
    with contextlib.suppress(Exception):  # a convenience: the demo runs without it
        kb2_token = str(sandbox.mint_token(nid, version=2))
    commands = [
        f"{scan} {chosen[0]['gtin'] if chosen else '6260000000019'}",
        f'{scan} "$({prog} sandbox token {nid} --data {sandbox_dir} --no-qr)"',
        f'{scan} "$({prog} sandbox token {nid} --data {sandbox_dir} --v2 --no-qr)"',
    ]
    tried = [
        (households[key]["description"], households[key]["national_id"])
        for key in TRY_HOUSEHOLDS
        if key in households
    ]

    async def otp_code(challenge_id: str) -> str | None:
        return await asyncio.to_thread(sandbox.otp_code, challenge_id)

    async def purchase_code() -> str | None:
        # Purchase codes expire and are used up: the help (F1) mints fresh ones as it opens.
        return await asyncio.to_thread(sandbox.mint_purchase_code, nid)

    guide = DemoGuide(
        lane_name=lane_name,
        commands=tuple(commands),
        households=tuple(tried),
        products=tuple(
            (p.get("name_en") or p["name_fa"], p["gtin"], p["price_rial"]) for p in chosen
        ),
        purchase_codes=tuple(codes),
        otp_code=otp_code,
        ledger_switch=SandboxOutage(sandbox, ledger_url) if ledger_url else None,
        purchase_code=purchase_code,
    )
    short = {
        "kalabarg": "Kalabarg tranches and donor credit for Rasht",
        "yasna": "Kalabarg and a Yasna package (diapers, infant food)",
        "low_balance": "little credit left",
        "blocked": "on the hot list: refused",
    }
    lines = [
        "pos-client demo, in training mode: nothing here is a real sale.",
        "1. On the checkout screen type a national ID, then Enter:",
    ]
    lines += [
        f"     {households[key]['national_id']}  {short[key]}"
        for key in TRY_HOUSEHOLDS
        if key in households
    ]
    lines += [
        "   then the verification code the screen shows you, and Enter.",
        "   Or a single-use purchase code (no code to type): "
        + (", ".join(codes[:2]) if codes else "-"),
        f"   (each works once, for {minutes} minutes; F1 shows fresh ones)",
        "2. Scan products: type the barcode and Enter, or from another terminal",
        f"     {scan} 6260000000019",
    ]
    names = [f"{p['gtin']} {_short_name(p)}" for p in chosen]
    for i in range(0, len(names), 2):
        lines.append("     " + "   ".join(names[i : i + 2]))
    lines += [
        "   Products sold by weight read the demo scale (1.25 kg); to weigh another",
        f"   item: {prog} scale --lane {lane_name} GRAMS",
        "3. F2 shows the split over the credit, Enter confirms: receipt and QR code.",
        "   Enter starts the next sale. F1 help, Esc back, Ctrl-Q quits.",
        "A QR token instead of a national ID, from another terminal:",
        f"     {commands[1]}",
        *_offline_lines(LEDGER_SWITCH_DISPLAY, kb2_token, commands[2], first),
        f"All this again: F1, or {data / 'demo-help.txt'}",
    ]
    return guide, "\n".join(lines) + "\n"


def _offline_lines(
    switch_key: str, token: str | None, fresh: str, household: dict[str, Any]
) -> list[str]:
    """Step 4 of the demo: the ledger switched off, a household served from its KB2 token.

    The token is printed as text and, when the terminal is wide enough, as a QR
    code (a scanner pointed at the screen reads it; so does a phone's camera).
    """
    lines = [
        f"4. {switch_key} switches the sandbox ledger off (and on again). While it is off, a",
        "   household never seen at this lane shops with its KB2 QR token, which carries",
        "   what it may spend offline: the sale is approved offline, from the household's",
        "   card. Switch the ledger on again and F5 sends it.",
    ]
    if token is not None:
        from pos_client.domain.national_id import mask_national_id

        masked = mask_national_id(str(household["national_id"]))
        lines.append(f"   A KB2 token of household {masked} (each token is used once):")
        qr = terminal_qr(token, shutil.get_terminal_size((80, 24)).columns)
        lines += qr if qr else ["   (a wider terminal shows it as a QR code here)"]
        lines.append(token)
    lines += ["   A fresh KB2 token, from another terminal:", f"     {fresh}"]
    return lines


def _program() -> str:
    """How to call this program from another terminal: by name if it is on the PATH."""
    invoked = sys.argv[0] if sys.argv and sys.argv[0] else "pos-client"
    on_path = shutil.which("pos-client")
    if on_path and Path(on_path).resolve() == Path(invoked).resolve():
        return "pos-client"
    if Path(invoked).name == "pos-client":
        return shlex.quote(invoked)
    return "pos-client"


def _short_name(product: dict[str, Any]) -> str:
    name = str(product.get("name_en") or product["name_fa"]).split(",")[0]
    return name[:24]
