"""The signature chain a strict client (Element, "exclude insecure devices") checks:
device <- self-signing key <- master key of the same user. Good chains pass; a tampered
signature, a key of another user, an unsigned device or a device signed by someone else's
self-signing key fail. Also: the private keys file is 0600 and round-trips."""
from __future__ import annotations

import copy
import stat

import pytest
from signedjson.key import encode_signing_key_base64, encode_verify_key_base64, generate_signing_key, get_verify_key
from signedjson.sign import sign_json

from bot.matrix.cross_signing import (
    CrossSigningError, Identity, KEYS_FILE, device_is_cross_signed, verify_chain,
)

ALICE, MALLORY = "@alice:localhost", "@mallory:localhost"


def device_keys(user_id: str, device_id: str) -> dict:
    """Device keys as a client uploads them: signed by the device's own ed25519 key."""
    dk = generate_signing_key(device_id)
    obj = {"user_id": user_id, "device_id": device_id,
           "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
           "keys": {f"ed25519:{device_id}": encode_verify_key_base64(get_verify_key(dk)),
                    f"curve25519:{device_id}": "dGhpcyBpcyBub3QgY2hlY2tlZCBoZXJl"}}
    return sign_json(obj, user_id, dk)


def query_for(identity: Identity, device: dict, sign: bool = True) -> dict:
    """A /keys/query answer as the homeserver gives it after both uploads."""
    body = identity.upload_body()
    user = identity.user_id
    stored = copy.deepcopy(device)
    if sign:
        signed = identity.sign_device(device)
        stored["signatures"][user].update(signed["signatures"][user])
    return {"device_keys": {user: {device["device_id"]: stored}},
            "master_keys": {user: body["master_key"]},
            "self_signing_keys": {user: body["self_signing_key"]},
            "user_signing_keys": {user: body["user_signing_key"]}}


@pytest.fixture
def alice():
    return Identity.generate(ALICE)


def test_good_chain_passes(alice):
    q = query_for(alice, device_keys(ALICE, "DEV1"))
    assert verify_chain(q, ALICE, "DEV1") is None
    assert device_is_cross_signed(q, ALICE, "DEV1")


def test_unsigned_device_fails(alice):
    q = query_for(alice, device_keys(ALICE, "DEV1"), sign=False)
    assert "no signature by ed25519:" in verify_chain(q, ALICE, "DEV1")


def test_no_identity_fails():
    q = {"device_keys": {ALICE: {"DEV1": device_keys(ALICE, "DEV1")}}}
    assert verify_chain(q, ALICE, "DEV1") == "no master key"


def test_tampered_device_signature_fails(alice):
    q = query_for(alice, device_keys(ALICE, "DEV1"))
    sigs = q["device_keys"][ALICE]["DEV1"]["signatures"][ALICE]
    ssk_id = next(k for k in sigs if k != "ed25519:DEV1")
    sig = sigs[ssk_id]
    sigs[ssk_id] = ("A" if sig[0] != "A" else "B") + sig[1:]
    assert "does not verify" in verify_chain(q, ALICE, "DEV1")


def test_tampered_device_keys_fail(alice):
    q = query_for(alice, device_keys(ALICE, "DEV1"))
    q["device_keys"][ALICE]["DEV1"]["keys"]["curve25519:DEV1"] = "c3dhcHBlZCBieSBhbiBhdHRhY2tlcg"
    assert "does not verify" in verify_chain(q, ALICE, "DEV1")


def test_self_signing_key_not_signed_by_master_fails(alice):
    q = query_for(alice, device_keys(ALICE, "DEV1"))
    other = Identity.generate(ALICE)
    q["master_keys"][ALICE] = other.upload_body()["master_key"]  # a master key that did not sign the ssk
    assert "self-signing key" in verify_chain(q, ALICE, "DEV1")


def test_keys_of_another_user_fail(alice):
    mallory = Identity.generate(MALLORY)
    device = device_keys(ALICE, "DEV1")
    # Mallory's identity presented as Alice's (a homeserver lying, or a mix-up), with Alice's
    # device signed by Mallory's self-signing key under Alice's name.
    body = mallory.upload_body()
    forged = sign_json({k: v for k, v in device.items() if k != "signatures"}, ALICE, mallory.self_signing)
    stored = copy.deepcopy(device)
    stored["signatures"][ALICE].update(forged["signatures"][ALICE])
    q = {"device_keys": {ALICE: {"DEV1": stored}},
         "master_keys": {ALICE: body["master_key"]}, "self_signing_keys": {ALICE: body["self_signing_key"]}}
    assert "belongs to '@mallory:localhost'" in verify_chain(q, ALICE, "DEV1")
    # Even with the user_id fields rewritten the master's signature (over the user id) fails.
    for obj in (q["master_keys"][ALICE], q["self_signing_keys"][ALICE]):
        obj["user_id"] = ALICE
        obj["signatures"] = {ALICE: obj.get("signatures", {}).get(MALLORY, {})}
    assert "does not verify" in verify_chain(q, ALICE, "DEV1")


def test_device_signed_by_another_users_self_signing_key_fails(alice):
    mallory = Identity.generate(MALLORY)
    device = device_keys(ALICE, "DEV1")
    q = query_for(alice, device, sign=False)
    forged = mallory.sign_device(device)  # signed under Mallory's name with Mallory's ssk
    q["device_keys"][ALICE]["DEV1"]["signatures"].update(forged["signatures"])
    assert "no signature by" in verify_chain(q, ALICE, "DEV1")


def test_device_of_another_user_fails(alice):
    q = query_for(alice, device_keys(ALICE, "DEV1"))
    q["device_keys"][ALICE]["DEV1"]["user_id"] = MALLORY
    assert "device keys name" in verify_chain(q, ALICE, "DEV1")


def test_wrong_device_id_fails(alice):
    q = query_for(alice, device_keys(ALICE, "DEV1"))
    assert verify_chain(q, ALICE, "DEV2") == "no device keys for DEV2"


def test_identity_file_is_private_and_round_trips(alice, tmp_path):
    path = tmp_path / KEYS_FILE
    alice.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Identity.load(path)
    assert again.master_id == alice.master_id
    assert again.upload_body() == alice.upload_body()  # ed25519 signatures are deterministic
    for usage in ("master", "self_signing", "user_signing"):  # no private key in a repr (logs)
        assert encode_signing_key_base64(getattr(alice, usage)) not in repr(again)
        assert encode_signing_key_base64(getattr(alice, usage)) in path.read_text()
    assert Identity.load(tmp_path / "missing.json") is None
    path.write_text("{not json")
    with pytest.raises(CrossSigningError):
        Identity.load(path)
