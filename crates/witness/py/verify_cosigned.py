"""An independent check of a cosigned checkpoint, written from the C2SP specifications
(signed-note, tlog-checkpoint, tlog-cosignature) and docs/ledger.md, with nothing from
Moral Bank's code: `python verify_cosigned.py POLICY CHECKPOINT` prints one JSON line
{"size", "root", "cosigners": [names], "missing": [names], "quorum_met"} or
{"error": "..."} and exits 1 when the checkpoint is not good under the policy."""

import base64
import hashlib
import json
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def parse_vkey(vkey, alg):
    name, key_id, key = vkey.split("+", 2)
    key = base64.b64decode(key)
    if key[0] != alg or len(key) != 33:
        raise ValueError(f"{name}: not a key of type {alg}")
    if hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() != key_id:
        raise ValueError(f"{name}: the key ID does not match")
    return name, bytes.fromhex(key_id), Ed25519PublicKey.from_public_bytes(key[1:])


def main(policy_path, note_path):
    log, witnesses, quorum = None, [], 0
    for line in open(policy_path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        word, value = line.split(" ", 1)
        if word == "log":
            log = parse_vkey(value.strip(), 0x01)
        elif word == "witness":
            witnesses.append(parse_vkey(value.strip(), 0x04))
        elif word == "quorum":
            quorum = int(value)
    note = open(note_path, encoding="utf-8").read()
    body, sigs = note.split("\n\n", 1)
    body = body + "\n"
    lines = [l for l in sigs.split("\n") if l]
    origin, size, root = body.split("\n")[:3]

    def blobs(name, key_id):
        for l in lines:
            if not l.startswith("\u2014 "):
                raise ValueError("a signature line does not start with an em dash")
            sig_name, b64 = l[2:].split(" ")
            blob = base64.b64decode(b64)
            if sig_name == name and blob[:4] == key_id:
                yield blob[4:]

    name, key_id, key = log
    if origin != name:
        raise ValueError("the origin is not the log key's name")
    signed = False
    for sig in blobs(name, key_id):
        key.verify(sig, body.encode())
        signed = True
    if not signed:
        raise ValueError("no signature by the log's key")
    cosigners, missing = [], []
    for name, key_id, key in witnesses:
        ok = False
        for sig in blobs(name, key_id):
            if len(sig) != 8 + 64:
                raise ValueError(f"{name}: not a timestamped signature")
            (timestamp,) = struct.unpack(">Q", sig[:8])
            message = f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()
            key.verify(sig[8:], message)
            ok = True
        (cosigners if ok else missing).append(name)
    result = {
        "size": int(size),
        "root": root,
        "cosigners": cosigners,
        "missing": missing,
        "quorum_met": len(cosigners) >= quorum,
    }
    print(json.dumps(result))
    return 0 if result["quorum_met"] else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1], sys.argv[2]))
    except (InvalidSignature, ValueError) as e:
        print(json.dumps({"error": type(e).__name__ + ": " + str(e)}))
        sys.exit(1)
