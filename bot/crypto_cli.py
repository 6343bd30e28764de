"""`dsih-bot crypto bootstrap|reset|status`: the bot account's cross-signing identity
(bot.matrix.cross_signing), for operators. They act on the device the bot last logged in
with (`data_dir/credentials.json`), so the bot must have started once."""
from __future__ import annotations

import asyncio
import getpass
import sys

import aiohttp

from bot.matrix import credentials as creds_mod, cross_signing as xs
from config.settings import Settings


def add_parser(sub, settings_loader) -> None:
    c = sub.add_parser("crypto", help="the bot's cross-signing identity (Element only talks to cross-signed devices)")
    csub = c.add_subparsers(dest="cryptocmd", required=True)
    for name, help_ in (
            ("status", "ask the homeserver whether the bot's device is cross-signed"),
            ("bootstrap", "create the cross-signing identity if the account has none and sign the bot's device "
                          "(asks for the password if the homeserver wants it and none is configured)"),
            ("reset", "replace the cross-signing identity with a new one (lost keys) and sign the bot's device; "
                      "needs the account's password")):
        p = csub.add_parser(name, help=help_)
        p.add_argument("--config", "-c", required=True)
        p.set_defaults(func=lambda args, _name=name: run(args, _name, settings_loader(args)))


def _ask_password(user_id: str) -> str | None:
    if not sys.stdin.isatty():
        return None
    return getpass.getpass(f"password of {user_id} (not stored): ") or None


def run(args, action: str, settings: Settings) -> int:
    settings.require_matrix()
    m = settings.matrix
    data_dir = settings.storage.data_dir
    saved = creds_mod.load(data_dir / "credentials.json")
    if saved is None or saved.user_id != m.user_id:
        print(f"no stored login for {m.user_id} in {data_dir}: start the bot once (`dsih-bot run`), "
              "then run this again", file=sys.stderr)
        return 1
    server = xs.Homeserver(saved.homeserver, saved.access_token)
    password = m.password.get_secret_value() if m.password else None

    async def work(pw):
        if action == "status":
            return await xs.check(server, data_dir, saved.user_id, saved.device_id)
        return await xs.ensure(server, data_dir, saved.user_id, saved.device_id, pw, reset=action == "reset")

    try:
        try:
            if action == "reset" and not password:
                password = _ask_password(saved.user_id)
            status = asyncio.run(work(password))
        except xs.NeedPassword:
            password = None if password else _ask_password(saved.user_id)
            if not password:
                print(f"{action} failed: the homeserver wants the password of {saved.user_id}. Run this on a "
                      "terminal to be asked for it, set matrix.password, or see the operator guide "
                      "(\"Cross-signing\") for the homeserver admin's alternative", file=sys.stderr)
                return 1
            status = asyncio.run(work(password))
    except xs.NeedPassword:
        print(f"{action} failed: the password was not accepted", file=sys.stderr)
        return 1
    except xs.CrossSigningError as exc:
        print(f"{action} failed: {exc}", file=sys.stderr)
        return 1
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        print(f"{action} failed: homeserver {saved.homeserver} unreachable ({exc})", file=sys.stderr)
        return 1
    xs.write_status(data_dir, status)
    print(status.line())
    if action != "status" and status.cross_signed:
        print("a running bot keeps working; Element clients see the device as verified by its owner after "
              "their next key query")
    return 0 if status.cross_signed else 3


def config_line(settings: Settings) -> str | None:
    """For `check-config` (no connection): what the bot found at its last start."""
    if not settings.matrix.user_id:
        return None
    if not settings.matrix.cross_signing:
        return "cross-signing: off (matrix.cross_signing: false); Element will not talk to the bot in encrypted rooms"
    data_dir = settings.storage.data_dir
    saved = creds_mod.load(data_dir / "credentials.json")
    status = xs.read_status(data_dir)
    if saved is None or status is None:
        return "cross-signing: not known yet (the bot sets it up at its first start; `dsih-bot crypto status`)"
    if status.device_id != saved.device_id:
        return (f"cross-signing: device {saved.device_id} not checked yet (last check was for "
                f"{status.device_id}); the bot signs it at start")
    return "cross-signing: " + status.line()
