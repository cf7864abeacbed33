"""``pos-client otp request --national-id ID``: text a code to the household; print its id.

``--national-id-file FILE`` (or ``-`` for standard input) keeps the ID off the
command line, where other users of this computer could read it.
"""

from __future__ import annotations

import argparse

from pos_client.commands.lane import add_config_option, emit_json, run_with_app
from pos_client.commands.secrets import add_secret_option, resolve_secrets
from pos_client.compose import Lane


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("otp", help="verification codes (OTP) for a typed national ID")
    sub = parser.add_subparsers(dest="otp_command", metavar="ACTION", required=True)
    request = sub.add_parser("request", help="text a code to the household; print the challenge id")
    add_config_option(request)
    add_secret_option(
        request,
        "--national-id",
        metavar="ID",
        help="the household head's national ID",
        required=True,
    )
    request.add_argument("--json", action="store_true", help="print one JSON object")
    request.set_defaults(handler=_request)


def _request(args: argparse.Namespace) -> int:
    resolve_secrets(args, ("national_id",))

    async def work(lane: Lane) -> int:
        challenge = await lane.checkout.request_otp(args.national_id)
        if args.json:
            emit_json(
                {
                    "challenge_id": challenge.challenge_id,
                    "expires_at": challenge.expires_at.isoformat()
                    if challenge.expires_at
                    else None,
                }
            )
        else:
            print(challenge.challenge_id)
        return 0

    return run_with_app(args, work)
