#!/usr/bin/python3
"""Interoperability of edgeseal seals with PyJWT (python3-jwt).

Usage: interop.py PATH/TO/edgeseal

1. A seal minted by the CLI verifies with PyJWT pinned to HS256, using the
   key taken from the key set file.
2. An HS256 token that PyJWT makes with the seal header and claims verifies
   with `edgeseal verify`.
3. The same token with alg HS384 or HS512, or with another key, does not.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

import jwt

CLI = sys.argv[1]
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def run(*args):
    p = subprocess.run([CLI, *args], capture_output=True, text=True)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def key_from(path, kid):
    with open(path) as f:
        for k in json.load(f)["keys"]:
            if k["kid"] == kid:
                return base64.urlsafe_b64decode(k["k"] + "=" * (-len(k["k"]) % 4))
    raise SystemExit("kid not in key set")


def main():
    tmp = tempfile.mkdtemp(prefix="edgeseal-interop-")
    ks = os.path.join(tmp, "seal.jwks")
    rc, out, err = run("keygen", "--keyset", ks, "--kid", "k1")
    check(rc == 0 and out == "k1", "keygen prints the kid")
    check(os.stat(ks).st_mode & 0o777 == 0o600, "key set created 0600")
    key = key_from(ks, "k1")

    # 1. CLI -> PyJWT
    rc, token, err = run("mint", "--keyset", ks, "--sub", "alice",
                         "--aud", "api", "--claim", "scope=read write")
    check(rc == 0, "mint exits 0")
    claims = jwt.decode(token, key, algorithms=["HS256"], audience="api",
                        issuer="edgeseal")
    header = jwt.get_unverified_header(token)
    check(claims["sub"] == "alice" and claims["scope"] == "read write",
          "PyJWT verifies the CLI's seal")
    check(header == {"alg": "HS256", "typ": "edgeseal+jwt", "kid": "k1"},
          "the header is exactly alg, typ, kid")
    check(claims["exp"] - claims["iat"] == 60, "default ttl is 60 s")
    try:
        jwt.decode(token, b"x" * 32, algorithms=["HS256"], audience="api")
        check(False, "PyJWT refuses the seal under another key")
    except jwt.InvalidSignatureError:
        check(True, "PyJWT refuses the seal under another key")

    # 2. PyJWT -> CLI
    now = int(time.time())
    body = {"iss": "edgeseal", "sub": "bob", "iat": now, "exp": now + 30,
            "jti": "AAECAwQFBgcICQoLDA0ODw", "tenant": "t1"}
    hdr = {"typ": "edgeseal+jwt", "kid": "k1"}
    good = jwt.encode(body, key, algorithm="HS256", headers=hdr)
    rc, out, err = run("verify", "--keyset", ks, "--at", str(now), good)
    ident = json.loads(out) if rc == 0 else {}
    check(rc == 0 and ident.get("sub") == "bob" and
          ident.get("claims") == {"tenant": "t1"},
          "edgeseal verifies PyJWT's HS256 token")
    rc, out, err = run("verify", "--keyset", ks, "--at", str(now),
                       "--user-id", "bob", good)
    check(rc == 0, "verify --user-id accepts the matching subject")
    rc, out, err = run("verify", "--keyset", ks, "--at", str(now),
                       "--user-id", "eve", good)
    check(rc == 1 and out == "subject_mismatch", "--user-id mismatch")

    # 3. wrong algorithm, wrong key
    for alg in ("HS384", "HS512"):
        bad = jwt.encode(body, key, algorithm=alg, headers=hdr)
        rc, out, err = run("verify", "--keyset", ks, "--at", str(now), bad)
        check(rc == 1 and out == "alg_not_allowed",
              "edgeseal refuses PyJWT's %s token" % alg)
    bad = jwt.encode(body, b"y" * 32, algorithm="HS256", headers=hdr)
    rc, out, err = run("verify", "--keyset", ks, "--at", str(now), bad)
    check(rc == 1 and out == "bad_signature", "edgeseal refuses another key")

    # inspect prints both parts, unverified, even under a key it lacks
    rc, out, err = run("inspect", bad)
    check(rc == 0 and out.count("UNVERIFIED") == 2 and '"sub": "bob"' in out,
          "inspect prints header and claims marked UNVERIFIED")
    rc, out, err = run("inspect", "not-a-seal")
    check(rc == 1, "inspect refuses a non-JWS")

    # --claim values: JSON when they parse, else strings
    rc, token, err = run("mint", "--keyset", ks, "--sub", "alice",
                         "--claim", "level=3", "--claim", 'roles=["a"]',
                         "--claim", "note=hello")
    claims = jwt.decode(token, key, algorithms=["HS256"]) if rc == 0 else {}
    check(claims.get("level") == 3 and claims.get("roles") == ["a"] and
          claims.get("note") == "hello", "--claim types")
    rc, out, err = run("mint", "--keyset", ks, "--sub", "alice",
                       "--claim", "exp=1")
    check(rc == 1 and "invalid_claim_type" in err, "reserved claim refused")

    # usage errors
    rc, out, err = run("verify", "--keyset", ks)
    check(rc == 2, "verify without SEAL is a usage error")
    rc, out, err = run("mint", "--keyset", ks, "--sub", "a", "--leeway", "1")
    check(rc == 2, "an option of another command is a usage error")

    subprocess.run(["rm", "-rf", tmp])
    if FAILS:
        sys.exit("%d interop checks failed" % len(FAILS))


main()
