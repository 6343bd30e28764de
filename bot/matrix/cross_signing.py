"""Cross-signing for the bot's account, beside matrix-nio (which has none: matrix-nio #229).

Why: Element excludes "insecure devices" (MSC4153): it shares no room keys with a device its
owner has not cross-signed and hides what such a device sends. So the bot account gets a
cross-signing identity (master, self-signing and user-signing Ed25519 keys, Matrix spec
"Cross-signing") and every device it logs in with is signed by the self-signing key.

Choices:
- Primitives from libraries: Ed25519 keys and signatures over Matrix canonical JSON come from
  `signedjson` (PyNaCl + `canonicaljson`, the code Synapse itself signs with); nothing here
  computes a signature by hand.
- The private keys live in `data_dir/cross_signing.json`, mode 0600, next to the crypto store
  that holds the device's own keys (whoever can read either can act as the bot already). They
  are not derived from a recovery key: a bot has no human to type one in at start, and the
  data directory is what the operator backs up anyway. Lost keys are replaced by
  `dsih-bot crypto reset` (a new identity; the homeserver asks for the password).
- Uploading an identity: `POST /keys/device_signing/upload`. Synapse accepts the *first*
  identity of an account without user-interactive auth (MSC3967); replacing one needs
  `m.login.password`, so `ensure(..., password=None)` says "needs the password" instead.
- Signing a device: `POST /keys/signatures/upload` with the device's keys as the homeserver
  holds them (read back from `/keys/query`) plus our signature.

`verify_chain` is the check a strict client (Element with "exclude insecure devices") makes:
device <- self-signing key <- master key, all of the same user. The runtime uses it to
confirm what it uploaded; the tests' strict client uses it to decide whom to trust.
"""
from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from signedjson.key import (
    decode_signing_key_base64, decode_verify_key_base64, encode_signing_key_base64,
    encode_verify_key_base64, generate_signing_key, get_verify_key,
)
from signedjson.sign import SignatureVerifyException, sign_json, verify_signed_json

log = logging.getLogger(__name__)

KEYS_FILE = "cross_signing.json"          # private keys (mode 0600)
STATUS_FILE = "cross_signing_status.json"  # last known state, for `check-config` (no secrets)
ALG = "ed25519"
USAGES = ("master", "self_signing", "user_signing")


class CrossSigningError(Exception):
    """The homeserver refused or answered something unexpected (message is operator-readable)."""


class NeedPassword(CrossSigningError):
    """The homeserver wants user-interactive auth and no password is available."""


class DeviceKeysMissing(CrossSigningError):
    """The device's own keys are not on the homeserver (yet): nio uploads them after a sync."""


# -- keys ------------------------------------------------------------------------------------
def _new_key():
    key = generate_signing_key("new")
    key.version = encode_verify_key_base64(get_verify_key(key))  # key id = ed25519:<public key>
    return key


def _load_key(seed_b64: str):
    key = decode_signing_key_base64(ALG, "new", seed_b64)
    key.version = encode_verify_key_base64(get_verify_key(key))
    return key


def public_key(key) -> str:
    return encode_verify_key_base64(get_verify_key(key))


def key_id(key) -> str:
    return f"{ALG}:{public_key(key)}"


@dataclass
class Identity:
    """An account's three cross-signing keys (private halves)."""
    user_id: str
    master: Any
    self_signing: Any
    user_signing: Any

    def __repr__(self) -> str:  # never print private keys
        return f"Identity(user_id={self.user_id!r}, master={self.master_id!r})"

    @classmethod
    def generate(cls, user_id: str) -> "Identity":
        return cls(user_id, _new_key(), _new_key(), _new_key())

    @property
    def master_id(self) -> str:
        return key_id(self.master)

    def _key_object(self, usage: str, key) -> dict:
        obj = {"user_id": self.user_id, "usage": [usage], "keys": {key_id(key): public_key(key)}}
        if usage != "master":
            sign_json(obj, self.user_id, self.master)
        return obj

    def upload_body(self) -> dict:
        """The body of /keys/device_signing/upload (without `auth`)."""
        return {"master_key": self._key_object("master", self.master),
                "self_signing_key": self._key_object("self_signing", self.self_signing),
                "user_signing_key": self._key_object("user_signing", self.user_signing)}

    def sign_device(self, device_keys: dict) -> dict:
        """The device's keys (as the homeserver holds them) with only our signature, as
        /keys/signatures/upload wants them."""
        obj = {k: copy.deepcopy(v) for k, v in device_keys.items() if k not in ("signatures", "unsigned")}
        return sign_json(obj, self.user_id, self.self_signing)

    # -- file --
    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"user_id": self.user_id, "created_at": int(time.time()),
                **{usage: encode_signing_key_base64(getattr(self, usage)) for usage in USAGES}}
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> "Identity | None":
        try:
            data = json.loads(path.read_text())
            return cls(data["user_id"], *(_load_key(data[usage]) for usage in USAGES))
        except FileNotFoundError:
            return None
        except (KeyError, ValueError, TypeError) as exc:
            raise CrossSigningError(f"{path} is unreadable ({type(exc).__name__}); "
                                    f"`dsih-bot crypto reset` makes a new identity") from None


# -- the check a strict client makes ----------------------------------------------------------
def _single_key(obj: dict, user_id: str, usage: str) -> tuple[str, str]:
    if not isinstance(obj, dict):
        raise ValueError(f"no {usage} key")
    if obj.get("user_id") != user_id:
        raise ValueError(f"the {usage} key belongs to {obj.get('user_id')!r}, not {user_id}")
    if usage not in (obj.get("usage") or []):
        raise ValueError(f"the {usage} key is not marked for {usage}")
    keys = obj.get("keys") or {}
    if len(keys) != 1:
        raise ValueError(f"the {usage} key object holds {len(keys)} keys, expected 1")
    (kid, pub), = keys.items()
    if not kid.startswith(ALG + ":") or kid != f"{ALG}:{pub}":
        raise ValueError(f"the {usage} key id {kid!r} does not name its public key")
    return kid, pub


def _verify(obj: dict, user_id: str, kid: str, pub: str, what: str) -> None:
    verify_key = decode_verify_key_base64(ALG, kid.split(":", 1)[1], pub)
    if kid not in ((obj.get("signatures") or {}).get(user_id) or {}):
        raise ValueError(f"{what} carries no signature by {kid}")
    try:
        verify_signed_json(obj, user_id, verify_key)
    except SignatureVerifyException:
        raise ValueError(f"{what}: the signature by {kid} does not verify") from None


def verify_chain(query: dict, user_id: str, device_id: str) -> str | None:
    """None when the device is cross-signed by its owner in this /keys/query response,
    else why not. Checks: master key of `user_id` -> self-signing key (signed by the master
    key) -> device keys (signed by their own device key and by the self-signing key), each
    object naming `user_id` (and the device its `device_id`)."""
    try:
        mkid, mpub = _single_key((query.get("master_keys") or {}).get(user_id), user_id, "master")
        ssk = (query.get("self_signing_keys") or {}).get(user_id)
        skid, spub = _single_key(ssk, user_id, "self_signing")
        _verify(ssk, user_id, mkid, mpub, "the self-signing key")
        device = ((query.get("device_keys") or {}).get(user_id) or {}).get(device_id)
        if not isinstance(device, dict):
            raise ValueError(f"no device keys for {device_id}")
        if device.get("user_id") != user_id or device.get("device_id") != device_id:
            raise ValueError(f"the device keys name {device.get('user_id')!r}/{device.get('device_id')!r}")
        own_kid = f"{ALG}:{device_id}"
        own_pub = (device.get("keys") or {}).get(own_kid)
        if not own_pub:
            raise ValueError("the device has no ed25519 key")
        _verify(device, user_id, own_kid, own_pub, "the device keys")
        _verify(device, user_id, skid, spub, "the device keys")
    except ValueError as exc:
        return str(exc)
    return None


def device_is_cross_signed(query: dict, user_id: str, device_id: str) -> bool:
    return verify_chain(query, user_id, device_id) is None


# -- homeserver ---------------------------------------------------------------------------------
class Homeserver:
    """The three client-server endpoints cross-signing needs (nio has none of them)."""

    def __init__(self, homeserver: str, access_token: str, timeout: float = 30):
        self.base = homeserver.rstrip("/")
        self._token = access_token
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def _post(self, path: str, body: dict) -> tuple[int, dict]:
        async with aiohttp.ClientSession(timeout=self.timeout) as http:
            async with http.post(self.base + path, json=body,
                                 headers={"Authorization": f"Bearer {self._token}"}) as resp:
                try:
                    data = await resp.json(content_type=None)
                except (ValueError, aiohttp.ContentTypeError):
                    data = {}
                return resp.status, data if isinstance(data, dict) else {}

    async def logout(self) -> bool:
        """End this access token's device (its keys go with it); True when the homeserver did."""
        status, _ = await self._post("/_matrix/client/v3/logout", {})
        return status == 200

    async def query(self, user_ids: list[str]) -> dict:
        status, data = await self._post("/_matrix/client/v3/keys/query",
                                        {"device_keys": {u: [] for u in user_ids}})
        if status != 200:
            raise CrossSigningError(f"/keys/query answered {status} {data.get('errcode', '')}")
        return data

    async def upload_identity(self, identity: Identity, password: str | None) -> None:
        path = "/_matrix/client/v3/keys/device_signing/upload"
        body = identity.upload_body()
        status, data = await self._post(path, body)
        if status == 401 and "flows" in data:
            if not password:
                raise NeedPassword("the homeserver wants the bot account's password to replace its "
                                   "cross-signing identity")
            flows = [f.get("stages") for f in data.get("flows", [])]
            if ["m.login.password"] not in flows:
                raise CrossSigningError(f"the homeserver offers no password login for this ({flows}); "
                                        "see the operator guide for the admin's alternative")
            body["auth"] = {"type": "m.login.password", "session": data.get("session"),
                            "identifier": {"type": "m.id.user", "user": identity.user_id},
                            "password": password}
            status, data = await self._post(path, body)
        if status != 200:
            raise CrossSigningError(f"uploading the cross-signing keys failed: {status} "
                                    f"{data.get('errcode', '')} {data.get('error', '')}".strip())

    async def upload_device_signature(self, identity: Identity, device_keys: dict) -> None:
        signed = identity.sign_device(device_keys)
        status, data = await self._post("/_matrix/client/v3/keys/signatures/upload",
                                        {identity.user_id: {device_keys["device_id"]: signed}})
        failures = data.get("failures") or {}
        if status != 200 or failures:
            raise CrossSigningError(f"signing the device failed: {status} {failures or data}")


# -- what the bot and the CLI do -----------------------------------------------------------------
@dataclass
class Status:
    device_id: str
    cross_signed: bool
    reason: str = ""             # why not (operator-readable, English: it goes to logs and the CLI)
    master_key: str | None = None
    checked_at: int = 0

    def line(self) -> str:
        if self.cross_signed:
            return f"device {self.device_id} is cross-signed (master key {self.master_key})"
        return f"device {self.device_id} is NOT cross-signed: {self.reason}"


def write_status(data_dir: Path, status: Status) -> None:
    path = data_dir / STATUS_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(status), fh)
    os.replace(tmp, path)


def read_status(data_dir: Path) -> Status | None:
    try:
        return Status(**json.loads((data_dir / STATUS_FILE).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def _server_master(query: dict, user_id: str) -> str | None:
    try:
        return _single_key((query.get("master_keys") or {}).get(user_id), user_id, "master")[0]
    except ValueError:
        return None


async def check(server: Homeserver, data_dir: Path, user_id: str, device_id: str) -> Status:
    """What the homeserver says now (no change)."""
    query = await server.query([user_id])
    reason = verify_chain(query, user_id, device_id)
    local = Identity.load(data_dir / KEYS_FILE)
    master = _server_master(query, user_id)
    if reason and master and (local is None or local.master_id != master):
        reason += ("; the account's identity on the homeserver is not the one in "
                   f"{data_dir / KEYS_FILE}: `dsih-bot crypto reset` makes a new one")
    elif reason and master:
        reason += ": `dsih-bot crypto bootstrap` signs it"
    elif reason and not master:
        reason = "the account has no cross-signing identity yet: `dsih-bot crypto bootstrap`"
    return Status(device_id, reason is None, reason or "", master, int(time.time()))


async def ensure(server: Homeserver, data_dir: Path, user_id: str, device_id: str,
                 password: str | None, *, reset: bool = False) -> Status:
    """Make `device_id` cross-signed: create and upload the identity if the account has none
    (or `reset`), then sign the device if it is not yet. Idempotent; safe at every start.
    Raises NeedPassword / CrossSigningError when it cannot; the caller reports."""
    path = data_dir / KEYS_FILE
    query = await server.query([user_id])
    local = Identity.load(path)
    if local is not None and local.user_id != user_id:
        raise CrossSigningError(f"{path} belongs to {local.user_id}, not {user_id}")
    master = _server_master(query, user_id)
    pending = path.with_name(path.name + ".new")
    if local is None and master and pending.exists():
        # An earlier run uploaded this identity but stopped before keeping it: keep it now.
        unsaved = Identity.load(pending)
        if unsaved is not None and unsaved.master_id == master and unsaved.user_id == user_id:
            os.replace(pending, path)
            local = unsaved
    if reset or master is None:
        identity = Identity.generate(user_id) if (reset or local is None) else local
        identity.save(pending)  # kept before upload: an upload that succeeds is never lost
        try:
            await server.upload_identity(identity, password)
        except CrossSigningError:
            pending.unlink(missing_ok=True)  # refused for sure: nothing to keep
            raise
        os.replace(pending, path)
        log.info("cross-signing identity uploaded (master key %s)", identity.master_id)
        query = await server.query([user_id])
    elif local is None or local.master_id != master:
        raise CrossSigningError(
            f"the account already has a cross-signing identity (master key {master}) whose private keys "
            f"are not in {path} (data directory lost, or made by another client): `dsih-bot crypto reset` "
            "replaces it")
    else:
        identity = local
    if verify_chain(query, user_id, device_id) is not None:
        device = ((query.get("device_keys") or {}).get(user_id) or {}).get(device_id)
        if not device:
            raise DeviceKeysMissing(f"the homeserver has no keys for device {device_id} yet "
                                    "(the bot uploads them at its first sync)")
        await server.upload_device_signature(identity, device)
        query = await server.query([user_id])
        log.info("device %s signed with the self-signing key", device_id)
    reason = verify_chain(query, user_id, device_id)
    if reason:
        raise CrossSigningError(f"device {device_id} still fails the chain after signing: {reason}")
    return Status(device_id, True, "", identity.master_id, int(time.time()))


async def ensure_at_start(homeserver: str, access_token: str, data_dir: Path, user_id: str,
                          device_id: str, password: str | None, attempts: int = 8) -> Status:
    """`ensure` for the runtime: never raises (but can be cancelled); retries while the
    homeserver is away or the device keys are not up yet; logs one clear line; records the state."""
    server = Homeserver(homeserver, access_token, timeout=15)
    status = None
    for attempt in range(attempts):
        try:
            status = await ensure(server, data_dir, user_id, device_id, password)
            break
        except NeedPassword as exc:
            status = Status(device_id, False, f"{exc}: run `dsih-bot crypto bootstrap`", None, int(time.time()))
            break
        except DeviceKeysMissing as exc:
            status = Status(device_id, False, str(exc), None, int(time.time()))
        except CrossSigningError as exc:
            status = Status(device_id, False, str(exc), None, int(time.time()))
            break
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            status = Status(device_id, False, f"homeserver unreachable ({type(exc).__name__})", None,
                            int(time.time()))
        if attempt + 1 < attempts:
            log.info("cross-signing: %s; trying again", status.reason)
            await asyncio.sleep(min(2 ** attempt, 30))
    if status.cross_signed:
        log.info("cross-signing: %s", status.line())
    else:
        log.warning("cross-signing: %s. Element clients that exclude insecure devices will not "
                    "share room keys with the bot nor show its messages", status.line())
    try:
        write_status(data_dir, status)
    except OSError as exc:
        log.warning("could not record the cross-signing state: %s", exc)
    return status
