#!/usr/bin/python3
"""Interoperability of edgeseal seals with PyJWT (python3-jwt).

Usage: interop.py PATH/TO/edgeseal

1. A seal minted by the CLI verifies with PyJWT pinned to HS256, using the
   key taken from the key set file.
2. An HS256 token that PyJWT makes with the seal header and claims verifies
   with `edgeseal verify`.
3. The same token with alg HS384 or HS512, or with another key, does not.
4. A restricted key mints and verifies forwarded claims only when its
   edgeseal_allowed_claims lists them, and a bad list fails the key set.
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


def write_keyset(path, doc):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f)


def restricted_key(tmp, ks, now):
    """4. The k1 key, restricted, then allowed one forwarded claim."""
    with open(ks) as f:
        doc = json.load(f)
    jwk = doc["keys"][0]
    jwk.update({"edgeseal_sub_prefix": "job:", "edgeseal_require_act": True})
    job = os.path.join(tmp, "job.jwks")
    write_keyset(job, doc)
    mint = ("mint", "--keyset", job, "--sub", "job:x", "--act", "r")

    rc, out, err = run(*mint, "--claim", 'roles=["admin"]', "--claim",
                       "tenant=*")
    check(rc == 1 and out == "" and "key_restricted" in err and
          "edgeseal_allowed_claims" in err,
          "a restricted key does not mint claims it does not list")
    rc, token, err = run(*mint)
    check(rc == 0, "a restricted key mints without forwarded claims")

    # The same claims signed past the minter: verify refuses them too.
    body = {"iss": "edgeseal", "sub": "job:x", "iat": now, "exp": now + 30,
            "jti": "AAECAwQFBgcICQoLDA0ODw", "act": {"sub": "r"},
            "roles": ["admin"]}
    forged = jwt.encode(body, key_from(job, "k1"), algorithm="HS256",
                        headers={"typ": "edgeseal+jwt", "kid": "k1"})
    rc, out, err = run("verify", "--keyset", job, "--at", str(now),
                       "--user-id", "job:x", forged)
    check(rc == 1 and out == "key_restricted",
          "verify refuses a claim the key does not list")

    jwk["edgeseal_allowed_claims"] = ["tenant"]
    write_keyset(job, doc)
    rc, token, err = run(*mint, "--claim", "tenant=t1")
    rc, out, err = run("verify", "--keyset", job, "--user-id", "job:x",
                       token) if rc == 0 else (rc, "", err)
    check(rc == 0 and json.loads(out).get("claims") == {"tenant": "t1"},
          "a restricted key mints and verifies a claim it lists")
    rc, out, err = run(*mint, "--claim", "tenant=t1", "--claim", "roles=1")
    check(rc == 1 and "key_restricted" in err, "listed plus unlisted refused")

    jwk["edgeseal_allowed_claims"] = ["tenant", "exp"]
    write_keyset(job, doc)
    rc, out, err = run("verify", "--keyset", job, forged)
    check(rc == 1 and out == "no_key" and "edgeseal_allowed_claims" in err,
          "a key set listing a claim of the format is refused")


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
    rc, out, err = run("mint", "--keyset", ks, "--sub", "alice",
                       "--claim", 'x={"a":1,"a":2}')
    check(rc != 0 and out == "" and "--claim" in err,
          "a --claim value with a duplicate member is refused")
    rc, out, err = run("mint", "--keyset", ks, "--sub", "alice",
                       "--claim", 'roles=["admin",]')
    check(rc != 0 and out == "", "a --claim value of broken JSON is refused")
    rc, out, err = run("mint", "--keyset", ks, "--sub", "alice",
                       "--claim", "team=blue")
    check(rc == 0 and jwt.decode(out, key, algorithms=["HS256"],
                                 options={"verify_aud": False}
                                 )["team"] == "blue",
          "a --claim value that is not JSON is a string")
    rc, out, err = run("mint", "--keyset", ks, "--sub", "admin ")
    check(rc == 1 and out == "" and "invalid_subject" in err,
          "a subject ending in a space is refused")
    rc, out, err = run("verify", "--keyset", ks, "--leeway", "301", token)
    check(rc != 0 and out == "", "a leeway past 300 s is refused")
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

    restricted_key(tmp, ks, now)

    # usage errors
    rc, out, err = run("verify", "--keyset", ks)
    check(rc == 2, "verify without SEAL is a usage error")
    rc, out, err = run("mint", "--keyset", ks, "--sub", "a", "--leeway", "1")
    check(rc == 2, "an option of another command is a usage error")

    subprocess.run(["rm", "-rf", tmp])
    if FAILS:
        sys.exit("%d interop checks failed" % len(FAILS))


main()
