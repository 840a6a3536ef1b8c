#!/usr/bin/python3
"""Test vectors for cloakroom's actix-session mode, from an implementation independent of cloakroom's.

Written from the rules of the Rust `cookie` crate 0.16 (rwf2/cookie-rs, src/secure/key.rs,
src/secure/private.rs, src/secure/signed.rs, src/lib.rs) and of actix-session 0.11
(actix/actix-extras, actix-session/src/storage/cookie.rs, storage/redis_rs.rs, storage/format.rs),
with Python's hmac/hashlib/base64/json and the `cryptography` package (Debian's python3-cryptography).
Nonces are fixed so the output is reproducible; the keys are test keys, never secrets.

Run:  /usr/bin/python3 test/actix/vectors/make-vectors.py > test/actix/vectors/vectors.json
"""

import base64
import hashlib
import hmac
import json
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

KEYS_INFO = b"COOKIE;SIGNED:HMAC-SHA256;PRIVATE:AEAD-AES-256-GCM"


def key_from(material: bytes) -> tuple[bytes, bytes]:
    """Key::from: the first 64 bytes; signing = 0..32, encryption = 32..64."""
    assert len(material) >= 64
    return material[:32], material[32:64]


def derive_from(master: bytes) -> tuple[bytes, bytes]:
    """Key::derive_from: HKDF-SHA256 Expand only, the master as the PRK, 64 bytes out."""
    assert len(master) >= 32
    both = HKDFExpand(algorithm=hashes.SHA256(), length=64, info=KEYS_INFO).derive(master)
    return both[:32], both[32:]


def derive_by_hand(master: bytes) -> bytes:
    """The same Expand written out with hmac (RFC 5869 2.3), as a check on the library."""
    t1 = hmac.new(master, KEYS_INFO + b"\x01", hashlib.sha256).digest()
    t2 = hmac.new(master, t1 + KEYS_INFO + b"\x02", hashlib.sha256).digest()
    return t1 + t2


def private_value(encryption: bytes, name: str, plaintext: str, nonce: bytes) -> str:
    """base64(nonce || AES-256-GCM(plaintext, aad=name) || tag), standard alphabet, padded."""
    sealed = AESGCM(encryption).encrypt(nonce, plaintext.encode("utf-8"), name.encode("utf-8"))
    return base64.b64encode(nonce + sealed).decode("ascii")


def signed_value(signing: bytes, plaintext: str) -> str:
    """base64(HMAC-SHA256(plaintext)) followed by the plaintext; the name is not covered."""
    mac = hmac.new(signing, plaintext.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii") + plaintext


# percent-encoding's CONTROLS (0x00-0x1F, 0x7F) plus the WHATWG fragment, path and userinfo sets
# (cookie 0.16.0), plus ( ) , (cookie 0.16.1 and later). Non-ASCII bytes are always encoded.
USERINFO = set(range(0x20)) | {0x7F} | set(b' "<>`') | set(b"#?{}") | set(b"/:;=@[\\]^|%")
COOKIE_0_16_1 = USERINFO | set(b"(),")


def percent_encode(text: str, encode_set: set) -> str:
    out = []
    for byte in text.encode("utf-8"):
        out.append("%%%02X" % byte if byte >= 0x80 or byte in encode_set else chr(byte))
    return "".join(out)


def state_011(data: dict) -> str:
    """actix-session 0.11's state: each value JSON-encoded to a string, then the map (serde_json, compact)."""
    inner = {k: json.dumps(v, separators=(",", ":"), ensure_ascii=False) for k, v in data.items()}
    return json.dumps(inner, separators=(",", ":"), ensure_ascii=False)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def main() -> None:
    raw_material = bytes(range(64)) + b"ignored tail"
    master = hashlib.sha256(b"cloakroom actix vectors master").digest() + b"0123456789abcdef"
    assert derive_from(master) == (derive_by_hand(master)[:32], derive_by_hand(master)[32:])

    keys = [
        {"mode": "raw", "secret": b64(raw_material), "signing": b64(key_from(raw_material)[0]), "encryption": b64(key_from(raw_material)[1])},
        {"mode": "derive", "secret": b64(master), "signing": b64(derive_from(master)[0]), "encryption": b64(derive_from(master)[1])},
        {"mode": "derive", "secret": b64(bytes(range(32))), "signing": b64(derive_from(bytes(range(32)))[0]), "encryption": b64(derive_from(bytes(range(32)))[1])},
    ]

    # Plaintexts: a Redis session key (64 alphanumerics), cookie-store states, and text that needs
    # percent-encoding and UTF-8.
    session_key = "q9XwB3vL0aZ7kT2mR5nC8yH1dF4gJ6pS" + "e0uW9iO3lK7jV2bN5xM8cQ1zA4sD6fG0"
    state = state_011({"counter": 1, "user": "ferris"})
    assert state == '{"counter":"1","user":"\\"ferris\\""}'
    plaintexts = [
        session_key,
        state,
        state_011({"cart": [1, 2, {"sku": "a(b),c"}], "name": "Zoë ✓", "ok": True, "none": None}),
        "Tamper-proof",
    ]

    private = []
    signed = []
    for k_index, key in enumerate(keys):
        material = base64.b64decode(key["secret"])
        signing, encryption = key_from(material) if key["mode"] == "raw" else derive_from(material)
        for p_index, plaintext in enumerate(plaintexts):
            for name in ["id", "session"]:
                nonce = hashlib.sha256(f"nonce {k_index} {p_index} {name}".encode()).digest()[:12]
                value = private_value(encryption, name, plaintext, nonce)
                private.append({"key": k_index, "name": name, "plaintext": plaintext, "value": value, "wire": percent_encode(value, COOKIE_0_16_1)})
            value = signed_value(signing, plaintext)
            signed.append({
                "key": k_index,
                "plaintext": plaintext,
                "value": value,
                "wire": percent_encode(value, COOKIE_0_16_1),
                "wire_0_16_0": percent_encode(value, USERINFO),
            })

    # Negative cases, made from one private value whose base64 holds both '+' and '/'.
    key = keys[0]
    _, encryption = key_from(base64.b64decode(key["secret"]))
    for counter in range(1000):
        nonce = hashlib.sha256(f"negative {counter}".encode()).digest()[:12]
        good = private_value(encryption, "id", session_key, nonce)
        if "+" in good and "/" in good:
            break
    box = base64.b64decode(good)
    flipped = bytearray(box)
    flipped[20] ^= 0x01
    # A value whose decoded length is not a multiple of 3, so its last character has unused bits.
    short_plain = "abcdefg"
    for counter in range(1000):
        nonce = hashlib.sha256(f"trailing {counter}".encode()).digest()[:12]
        odd = private_value(encryption, "id", short_plain, nonce)
        if odd.endswith("=") and not odd.endswith("=="):
            break
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = odd[-2]
    trailing = odd[:-2] + alphabet[alphabet.index(last) | 1] + "="
    assert base64.b64decode(trailing) == base64.b64decode(odd)  # Python's lenient decoder takes both
    negative = [
        {"case": "valid (control)", "key": 0, "name": "id", "value": good, "opens": True},
        {"case": "valid with trailing padding (control)", "key": 0, "name": "id", "value": odd, "opens": True},
        {"case": "renamed private cookie", "key": 0, "name": "sid", "value": good, "opens": False},
        {"case": "flipped byte", "key": 0, "name": "id", "value": b64(bytes(flipped)), "opens": False},
        {"case": "truncated", "key": 0, "name": "id", "value": b64(box[:-1]), "opens": False},
        {"case": "truncated to the nonce", "key": 0, "name": "id", "value": b64(box[:12]), "opens": False},
        {"case": "missing padding", "key": 0, "name": "id", "value": odd.rstrip("="), "opens": False},
        {"case": "base64url alphabet", "key": 0, "name": "id", "value": good.replace("+", "-").replace("/", "_"), "opens": False},
        {"case": "non-zero trailing bits", "key": 0, "name": "id", "value": trailing, "opens": False},
        {"case": "whitespace inside", "key": 0, "name": "id", "value": good[:8] + " " + good[8:], "opens": False},
        {"case": "other key", "key": 1, "name": "id", "value": good, "opens": False},
        {"case": "empty", "key": 0, "name": "id", "value": "", "opens": False},
    ]
    signed_good = signed_value(key_from(base64.b64decode(key["secret"]))[0], session_key)
    negative_signed = [
        {"case": "valid (control)", "key": 0, "value": signed_good, "opens": True},
        {"case": "tampered value", "key": 0, "value": signed_good[:-1] + ("A" if signed_good[-1] != "A" else "B"), "opens": False},
        {"case": "tampered digest", "key": 0, "value": ("B" if signed_good[0] == "A" else "A") + signed_good[1:], "opens": False},
        {"case": "digest only, cut short", "key": 0, "value": signed_good[:43], "opens": False},
        {"case": "other key", "key": 1, "value": signed_good, "opens": False},
    ]

    percent = [
        {"text": text, "wire": percent_encode(text, COOKIE_0_16_1), "wire_0_16_0": percent_encode(text, USERINFO)}
        for text in ['ab+/=', '{"a":"(1,2)"}', "sp ace;semi%pct", "Zoë ✓", "\x01\x7f`^|~!*'"]
    ]

    states = [
        {"data": data, "text": state_011(data)}
        for data in [{}, {"counter": 1, "user": "ferris"}, {"nested": {"a": [1, 2.5, None, False]}, "s": "quote \" and \\ and \n"}]
    ]

    json.dump(
        {
            "generator": "test/actix/vectors/make-vectors.py (Python hmac/hashlib/base64/json and the cryptography package)",
            "keys": keys,
            "private": private,
            "signed": signed,
            "negative_private": negative,
            "negative_signed": negative_signed,
            "percent": percent,
            "states": states,
        },
        sys.stdout,
        indent=1,
        ensure_ascii=False,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
