#!/usr/bin/env python3
"""Verify a moral credit report (道德信用报告, `MBCR1:…`) offline, as a bank would.

Written from docs/credit-report.md alone, independently of the Rust crate (moralbank-code),
which crates/code/tests/credit_report_python.rs holds it to: the same report gives the same
figures, and the same fault the same refusal code.

    verify_report.py --jwks KEYS.json [--audience PARTNER_ID] [--now UNIX_S] [--skew S] REPORT

REPORT is a file holding the report's text (`-` for standard input). On success it prints the
report as JSON and exits 0; a refused report prints `refused: <code>` (the codes of the doc's
verification steps) and, for some codes, one more line naming the field or the time, and exits
1. A key set that cannot be read, or bad arguments, exit 2.

Dependencies: `cbor2` writes the Sig_structure and `cryptography` checks Ed25519. The CBOR is
read here, by a reader of exactly the subset the format allows, because the format's rules are
about bytes (preferred serialisation; every key once and in order) that a general decoder
hides: cbor2 accepts non-shortest heads and keeps only the last of two equal map keys.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
import time
import unicodedata

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PREFIX = "MBCR1:"
REPORT_TYPE = "moralbank-credit-report"
REPORT_VERSION = 1
REPORT_CHARS_MAX = 16_384
ROWS_MAX = 200
TEXT_CHARS_MAX = 128
NESTING_MAX = 16
DEFAULT_SKEW_S = 30
COSE_SIGN1_TAG = 18
HEADER_ALG, HEADER_KID, HEADER_TYP = 1, 4, 16
ALG_EDDSA = -8
KID_BYTES = 8
KEYS_MAX = 32
JWKS_BYTES_MAX = 64 * 1024
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
I64 = (I64_MIN, I64_MAX)
U8, U16, U32, U64 = (0, 2**8 - 1), (0, 2**16 - 1), (0, 2**32 - 1), (0, 2**64 - 1)
# Unicode's White_Space: what is dropped around the text (a file's last newline, say).
WHITE_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class Refused(Exception):
    """The report is refused: `code` is the doc's name for the step that failed."""

    def __init__(self, code: str, detail: str | None = None):
        super().__init__(code)
        self.code = code
        self.detail = detail


class KeySetError(Exception):
    pass


def bad_field(name: str) -> Refused:
    return Refused("bad_field", f"field: {name}")


# --- CBOR: the subset a report is made of ------------------------------------------------------


class Map:
    """A CBOR map: its (key, value) pairs in the order read, repeats included."""

    def __init__(self, entries: list[tuple]):
        self.entries = entries

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


class Tag:
    def __init__(self, number: int, value):
        self.number, self.value = number, value


def _head(data: bytes, pos: int) -> tuple[int, int, int]:
    """The major type, argument and end of the head at `pos`, in its shortest form only."""
    major, info = data[pos] >> 5, data[pos] & 0x1F
    pos += 1
    if info < 24:
        return major, info, pos
    if info > 27:  # 28-30 are reserved; 31 is an indefinite length
        raise Refused("not_cose")
    size = 1 << (info - 24)
    if pos + size > len(data):
        raise Refused("not_cose")
    arg = int.from_bytes(data[pos : pos + size], "big")
    if arg < (24 if size == 1 else 1 << (4 * size)):
        raise Refused("not_cose")  # not the shortest form
    return major, arg, pos + size


def _item(data: bytes, pos: int, depth: int, top: bool):
    if depth > NESTING_MAX or pos >= len(data):
        raise Refused("not_cose")
    simple = {0xF4: False, 0xF5: True, 0xF6: None}
    if data[pos] >> 5 == 7:  # only false, true and null: no floats, no other simple values
        if data[pos] not in simple:
            raise Refused("not_cose")
        return simple[data[pos]], pos + 1
    major, arg, pos = _head(data, pos)
    if major == 0:
        return arg, pos
    if major == 1:
        return -1 - arg, pos
    if major in (2, 3):
        if pos + arg > len(data):
            raise Refused("not_cose")
        raw = data[pos : pos + arg]
        if major == 2:
            return raw, pos + arg
        try:
            return raw.decode("utf-8"), pos + arg
        except UnicodeDecodeError:
            raise Refused("not_cose") from None
    if major == 4:
        items = []
        for _ in range(arg):
            item, pos = _item(data, pos, depth + 1, False)
            items.append(item)
        return items, pos
    if major == 5:
        entries = []
        for _ in range(arg):
            key, pos = _item(data, pos, depth + 1, False)
            value, pos = _item(data, pos, depth + 1, False)
            entries.append((key, value))
        return Map(entries), pos
    # A tag: only the COSE_Sign1's, around a whole item.
    if not top or arg != COSE_SIGN1_TAG:
        raise Refused("not_cose")
    value, pos = _item(data, pos, 1, False)
    return Tag(arg, value), pos


def from_bytes(data: bytes):
    """One CBOR item that is all of `data`; anything else is `not_cose`."""
    value, end = _item(data, 0, 0, True)
    if end != len(data):
        raise Refused("not_cose")
    return value


# --- keys ---------------------------------------------------------------------------------------


def b64url_decode(text: str) -> bytes:
    """Unpadded base64url, strictly: its alphabet, a possible length, no stray bits at the end."""
    if not BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != text:
        raise ValueError("not base64url")
    return raw


def kid_of(public: bytes) -> bytes:
    return hashlib.sha256(public).digest()[:KID_BYTES]


def read_jwks(text: str) -> dict[bytes, Ed25519PublicKey]:
    """The credit keys of a JWKS, by kid. Keys of another type or use are skipped (RFC 7517
    §5); an Ed25519 key that is malformed, misnamed or private spoils the whole set, and so does
    a key whose members are not texts."""
    if len(text.encode("utf-8")) > JWKS_BYTES_MAX:
        raise KeySetError("the key set is too large")
    try:
        entries = json.loads(text)["keys"]
    except (ValueError, KeyError, TypeError):
        raise KeySetError("not a JWKS") from None
    members = ("crv", "x", "d", "kid", "alg", "use")
    if not isinstance(entries, list) or not all(
        isinstance(k, dict)
        and isinstance(k.get("kty"), str)
        and all(isinstance(k.get(m), (str, type(None))) for m in members)
        for k in entries
    ):
        raise KeySetError("not a JWKS of keys")
    keys: dict[bytes, Ed25519PublicKey] = {}
    for jwk in entries:
        if not (
            jwk["kty"] == "OKP"
            and jwk.get("crv") == "Ed25519"
            and jwk.get("alg") in (None, "EdDSA")
            and jwk.get("use") in (None, "sig")
        ):
            continue
        if jwk.get("d") is not None:
            raise KeySetError("the public key set holds a private key")
        try:
            x = b64url_decode(jwk.get("x"))
            assert len(x) == 32
            key = Ed25519PublicKey.from_public_bytes(x)
        except (ValueError, TypeError, AssertionError):
            raise KeySetError("a key's x is not an Ed25519 public key") from None
        kid = kid_of(x)
        if jwk.get("kid") != base64.urlsafe_b64encode(kid).decode("ascii").rstrip("="):
            raise KeySetError("a key's kid is not the kid of its x")
        if kid in keys:
            raise KeySetError("two keys have the same kid")
        keys[kid] = key
    if not keys or len(keys) > KEYS_MAX:
        raise KeySetError("no usable key, or too many")
    return keys


# --- the report ---------------------------------------------------------------------------------


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """RFC 9052 §4.4, for a COSE_Sign1 with no external data: what is signed."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def check_text(name: str, value) -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= TEXT_CHARS_MAX
        or any(unicodedata.category(c) == "Cc" for c in value)
    ):
        raise bad_field(name)
    return value


class Ordered:
    """A map read in a fixed order of keys: each present once, in order, and no other."""

    def __init__(self, value, name: str, length: int):
        if not isinstance(value, Map) or len(value) != length:
            raise bad_field(name)
        self.entries = iter(value)

    def next(self, key: str):
        k, v = next(self.entries)
        if not (isinstance(k, str) and k == key):
            raise bad_field(key)
        return v

    def text(self, key: str) -> str:
        return check_text(key, self.next(key))

    def integer(self, key: str, bounds: tuple[int, int]) -> int:
        v = self.next(key)
        if isinstance(v, bool) or not isinstance(v, int) or not bounds[0] <= v <= bounds[1]:
            raise bad_field(key)
        return v

    def byte_string(self, key: str, size: int) -> str:
        v = self.next(key)
        if not isinstance(v, bytes) or len(v) != size:
            raise bad_field(key)
        return v.hex()

    def array(self, key: str) -> list:
        v = self.next(key)
        if not isinstance(v, list) or len(v) > ROWS_MAX:
            raise bad_field(key)
        return v


def read_report(value) -> dict:
    """The report's fields, under the names the Rust crate serialises them with."""
    m = Ordered(value, "report", 18)
    if m.integer("v", I64) != REPORT_VERSION:
        raise bad_field("v")
    r = {
        "issuer": m.text("iss"),
        "audience": m.text("aud"),
        "subject": m.byte_string("sub", 16),
        "issued_at": m.integer("iat", I64),
        "expires_at": m.integer("exp", I64),
        "report_id": m.byte_string("jti", 16),
        "consent_id": m.text("consent"),
        "tier": m.integer("tier", U8),
        "tier_rules": m.text("tier_rules"),
        "lookback_months": m.integer("lookback_months", U8),
        "credit_points": m.integer("credit_points", I64),
        "points": [],
    }
    for row in m.array("points"):
        p = Ordered(row, "points", 3)
        r["points"].append(
            {
                "category": p.text("category"),
                "year": p.integer("year", U16),
                "points": p.integer("points", I64),
            }
        )
    r["badges"] = [check_text("badges", b) for b in m.array("badges")]
    r["green_cards"] = m.integer("green_cards", U32)
    r["in_publicity"] = m.integer("in_publicity", U32)
    line = m.next("line")
    if line is None:
        r["line"] = None
    else:
        n = Ordered(line, "line", 3)
        r["line"] = {
            "table_version": n.integer("table_version", U32),
            "max_line_yuan": n.integer("max_line_yuan", U64),
            "rate_discount_bp": n.integer("rate_discount_bp", U32),
        }
    log = Ordered(m.next("log"), "log", 3)
    r["log"] = {
        "origin": log.text("origin"),
        "size": log.integer("size", U64),
        "root": log.byte_string("root", 32),
    }
    if r["expires_at"] <= r["issued_at"]:
        raise bad_field("exp")
    return r


def saturating(a: int, b: int) -> int:
    return max(I64_MIN, min(I64_MAX, a + b))


def verify_report(text: str, keys: dict, audience: str | None, now: int, skew: int) -> dict:
    """The doc's verification steps, in order; the first that fails raises `Refused`."""
    text = text.strip(WHITE_SPACE)
    if len(text.encode("utf-8")) > REPORT_CHARS_MAX:
        raise Refused("too_large")
    if not text.startswith(PREFIX):
        raise Refused("wrong_prefix")
    try:
        raw = b64url_decode(text[len(PREFIX) :])
    except (ValueError, binascii.Error):
        raise Refused("not_base64") from None
    sign1 = from_bytes(raw)
    if not (isinstance(sign1, Tag) and isinstance(sign1.value, list)):
        raise Refused("not_cose")
    if len(sign1.value) != 4:
        raise Refused("not_cose")
    protected, unprotected, payload, signature = sign1.value
    if not (
        isinstance(protected, bytes)
        and isinstance(unprotected, Map)  # not signed: nothing is read from it
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        raise Refused("not_cose")
    header = from_bytes(protected)
    if not isinstance(header, Map):
        raise Refused("not_cose")
    # Labels are integers or texts, each at most once.
    labels = [k for k, _ in header]
    if any(isinstance(k, bool) or not isinstance(k, (int, str)) for k in labels):
        raise Refused("not_cose")
    if len({(type(k), k) for k in labels}) != len(labels):
        raise Refused("not_cose")
    fields = {k: v for k, v in header if isinstance(k, int)}
    if fields.get(HEADER_TYP) != REPORT_TYPE:
        raise Refused("wrong_type")
    alg = fields.get(HEADER_ALG)
    if isinstance(alg, bool) or alg != ALG_EDDSA:
        raise Refused("unsupported_algorithm")
    kid = fields.get(HEADER_KID)
    key = keys.get(kid) if isinstance(kid, bytes) else None
    if key is None:
        raise Refused("unknown_key")
    try:
        if len(signature) != 64:
            raise InvalidSignature
        key.verify(signature, sig_structure(protected, payload))
    except InvalidSignature:
        raise Refused("bad_signature") from None
    # Only now is the payload read: it is the issuer's.
    report = read_report(from_bytes(payload))
    if audience is not None and audience != report["audience"]:
        raise Refused("wrong_audience")
    if now >= saturating(report["expires_at"], skew):
        raise Refused("expired", f"expires_at: {report['expires_at']}")
    if report["issued_at"] > saturating(now, skew):
        raise Refused("not_yet_valid", f"issued_at: {report['issued_at']}")
    return report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Verify a moral credit report (MBCR1:) offline.")
    parser.add_argument("--jwks", required=True, help="the credit key set (JWKS) file")
    parser.add_argument("--audience", help="your partner id: another bank's report is refused")
    parser.add_argument("--now", type=int, help="verify at this time, unix seconds (default: now)")
    parser.add_argument("--skew", type=int, default=DEFAULT_SKEW_S, help="clock skew, seconds")
    parser.add_argument("report", help="the file holding the report's text, or - for stdin")
    args = parser.parse_args(argv)
    now = args.now if args.now is not None else int(time.time())
    try:
        with open(args.jwks, encoding="utf-8") as f:
            keys = read_jwks(f.read())
    except (OSError, UnicodeDecodeError, KeySetError) as e:
        print(f"cannot read the key set {args.jwks}: {e}", file=sys.stderr)
        return 2
    try:
        if args.report == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.report, "rb") as f:
                data = f.read()
    except OSError as e:
        print(f"cannot read {args.report}: {e}", file=sys.stderr)
        return 2
    sys.stdout.reconfigure(encoding="utf-8")
    try:
        text = data.decode("utf-8", errors="replace")
        report = verify_report(text, keys, args.audience, now, args.skew)
    except Refused as r:
        print(f"refused: {r.code}")
        if r.detail:
            print(r.detail)
        return 1
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
