#!/usr/bin/python3
"""Keys and user tokens for bench/run, made with the fake IdP.

    tokens.py DIR [--many N] [--rss N]

DIR/keys holds the IdP keys from tests/tools/idp.py (rs1, es1, hs1), plus
the HS256 secret written first as printable text so that HAProxy's
jwt_verify can take it from an environment variable, and the seal key set.
DIR/tokens/<kid>-one.txt holds one token (the cache-hit case),
<kid>-many.txt N distinct tokens (the every-token-new case), and
hs1-rss.txt the tokens pushed through the cache for the memory figure
(HS256: the cheapest to sign and to check, and the cache keeps the same
record, keyed by the token's SHA-256, whatever the algorithm).

Signing RS256 costs about a millisecond, so the files are kept and reused
while every token stays valid for at least another hour; they live 23 h.
"""

import argparse
import base64
import json
import multiprocessing
import os
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "tools"))
import idp  # noqa: E402

ISS = {"rs1": "https://idp.bench.example/", "es1": "https://idp.bench.example/",
       "hs1": "https://hs.bench.example/"}
AUD = "api"
LIFETIME = 23 * 3600
MIN_LEFT = 3600

_key = None


def make_keys(keydir):
    """IdP keys via idp.py; the HS secret and seal keys are ours."""
    os.makedirs(keydir, mode=0o700, exist_ok=True)
    hs = os.path.join(keydir, "hs1.key")
    if not os.path.exists(hs):
        # Printable: HAProxy's jwt_verify reads the secret from a string.
        secret = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=")
        idp.write_private(hs, secret)
    idp.make_keys(keydir)

    seal = os.path.join(keydir, "seal.jwks")
    if not os.path.exists(seal):
        raw = os.urandom(32)
        k = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        jwks = {"keys": [{"kty": "oct", "kid": "bench-1", "alg": "HS256",
                          "k": k}]}
        idp.write_private(seal, (json.dumps(jwks) + "\n").encode())
        # The native path mints its header with the same key (base64).
        idp.write_private(os.path.join(keydir, "seal.b64"),
                       base64.b64encode(raw))


def _init_worker(keydir, kid):
    global _key
    _key = idp.load_signing_key(keydir, kid)


def _one(job):
    """Sign one token shaped like idp.make_token's (same claims)."""
    kid, n, now = job
    head = {"alg": idp.KEYS[kid], "typ": "JWT", "kid": kid}
    body = {"iss": ISS[kid], "sub": "user-%06d" % n, "aud": AUD,
            "iat": now, "exp": now + LIFETIME, "jti": uuid.uuid4().hex,
            "scope": "openid profile"}
    return idp.encode(head, body, idp.KEYS[kid], _key)


def write_tokens(keydir, path, kid, count, now):
    """Sign count tokens with kid on every core and write them to path."""
    jobs = [(kid, n, now) for n in range(count)]
    with multiprocessing.Pool(os.cpu_count(), _init_worker,
                              (keydir, kid)) as pool:
        toks = pool.map(_one, jobs, chunksize=256)
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(toks) + "\n")
    os.replace(path + ".tmp", path)


def wanted(args):
    """The token files this run needs: name -> (kid, count)."""
    files = {}
    for kid in ("rs1", "es1", "hs1"):
        files[kid + "-one.txt"] = (kid, 1)
        files[kid + "-many.txt"] = (kid, args.many)
    files["hs1-rss.txt"] = ("hs1", args.rss)
    return files


def fresh(meta, files, now):
    """True when meta says every wanted file exists and is still valid."""
    if meta.get("made", 0) + LIFETIME - MIN_LEFT < now:
        return False
    return all(meta.get("files", {}).get(name) == [kid, n]
               for name, (kid, n) in files.items())


def main():
    p = argparse.ArgumentParser(prog="tokens.py")
    p.add_argument("dir")
    p.add_argument("--many", type=int, default=20000)
    p.add_argument("--rss", type=int, default=100000)
    args = p.parse_args()

    keydir = os.path.join(args.dir, "keys")
    tokdir = os.path.join(args.dir, "tokens")
    os.makedirs(tokdir, exist_ok=True)
    make_keys(keydir)

    now = int(time.time())
    metapath = os.path.join(tokdir, "meta.json")
    try:
        with open(metapath) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        meta = {}
    files = wanted(args)
    if fresh(meta, files, now):
        return 0

    t0 = time.time()
    for name, (kid, count) in files.items():
        write_tokens(keydir, os.path.join(tokdir, name), kid, count, now)
    meta = {"made": now, "files": {k: list(v) for k, v in files.items()}}
    with open(metapath, "w") as f:
        json.dump(meta, f)
    print("tokens: signed in %.1f s" % (time.time() - t0), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
