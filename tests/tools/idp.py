#!/usr/bin/python3
"""A fake identity provider for edgeseal's tests and demo. No network.

It makes the keys an IdP would hold and the JWTs it would issue, so the
agent can be fed real RS256 / ES256 / HS256 user tokens.

Command line:

    idp.py keys --dir DIR [--force]
        RSA-2048 key "rs1" and EC P-256 key "es1" as DIR/<kid>.key.pem
        (private, PKCS#8) and DIR/<kid>.pub.pem (public), their public JWKS
        in DIR/jwks.json, and a 32-byte raw HS256 secret DIR/hs1.key. Every
        file is mode 0600. Existing keys are kept unless --force.

    idp.py token --dir DIR [--kid rs1|es1|hs1] --iss ISS [--aud AUD]...
                 --sub SUB [--ttl 300] [--iat-offset S] [--exp-offset S]
                 [--nbf-offset S] [--claim NAME=JSON]... [--drop NAME]...
                 [--header NAME=JSON]... [--drop-header NAME]...
        Prints one JWT. Header {"alg", "typ": "JWT", "kid"}; claims iss,
        sub, aud (when given), iat, exp, jti, scope, nbf (when given).
        Offsets are seconds relative to now; exp defaults to iat + ttl.
        --claim/--header values are JSON ('--claim roles=["admin"]'); a bare
        word that is not JSON is taken as a string. --header may change any
        header member, alg included: the token is still signed with the
        kid's own algorithm, which is how alg-confusion cases are built.

From Python:

    sys.path.insert(0, "tests/tools")
    import idp
    idp.make_keys(d)
    tok = idp.make_token(d, kid="es1", iss="https://idp.test/", sub="alice",
                         aud="api", claims={"roles": ["admin"]})
    raw = idp.encode(header_dict, claims_dict, "HS256", key_bytes)
    idp.write_private(path, data_bytes)   # a 0600 file, whatever the umask
"""

import argparse
import base64
import json
import os
import sys
import time
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, RSAAlgorithm

# kid -> signing algorithm; the key files follow from the kid.
KEYS = {"rs1": "RS256", "es1": "ES256", "hs1": "HS256"}

_SIGNERS = {
    "RS256": RSAAlgorithm(RSAAlgorithm.SHA256),
    "ES256": ECAlgorithm(ECAlgorithm.SHA256),
    "HS256": HMACAlgorithm(HMACAlgorithm.SHA256),
}


def write_private(path, data):
    """Write data to path with mode 0600, whatever the umask says."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)


def _pem_pair(key):
    priv = key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    return priv, pub


def _public_jwk(kid, alg, pub_pem):
    pub = serialization.load_pem_public_key(pub_pem)
    signer = _SIGNERS[alg]
    jwk = json.loads(signer.to_jwk(pub))
    # Shaped like a real IdP's JWKS entry: no key_ops, just use.
    jwk.pop("key_ops", None)
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


def make_keys(directory, force=False):
    """Create the IdP keys in directory (see the module docstring).

    Keeps every existing key file unless force; jwks.json is always
    rewritten from the public PEMs so it matches them. Returns directory.
    """
    os.makedirs(directory, mode=0o700, exist_ok=True)
    makers = {
        "rs1": lambda: rsa.generate_private_key(65537, 2048),
        "es1": lambda: ec.generate_private_key(ec.SECP256R1()),
    }
    jwks = []
    for kid, make in makers.items():
        priv_path = os.path.join(directory, kid + ".key.pem")
        pub_path = os.path.join(directory, kid + ".pub.pem")
        if force or not os.path.exists(priv_path):
            priv, pub = _pem_pair(make())
            write_private(priv_path, priv)
            write_private(pub_path, pub)
        with open(pub_path, "rb") as f:
            jwks.append(_public_jwk(kid, KEYS[kid], f.read()))

    hs_path = os.path.join(directory, "hs1.key")
    if force or not os.path.exists(hs_path):
        write_private(hs_path, os.urandom(32))

    text = json.dumps({"keys": jwks}, indent=2) + "\n"
    write_private(os.path.join(directory, "jwks.json"), text.encode())
    return directory


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json_segment(obj):
    return _b64url(json.dumps(obj, separators=(",", ":")).encode())


def encode(header, claims, alg, key):
    """Sign header and claims as a JWS compact token with alg.

    key is a cryptography private key object for RS256/ES256, or bytes for
    HS256. header is used exactly as given (its alg is not checked against
    alg), so callers can build tokens that lie about their algorithm.
    """
    signing_input = _json_segment(header) + "." + _json_segment(claims)
    sig = _SIGNERS[alg].sign(signing_input.encode(), key)
    return signing_input + "." + _b64url(sig)


def load_signing_key(directory, kid):
    """The private key (or HMAC secret bytes) for kid in directory."""
    if KEYS[kid] == "HS256":
        with open(os.path.join(directory, kid + ".key"), "rb") as f:
            return f.read()
    with open(os.path.join(directory, kid + ".key.pem"), "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def make_token(directory, kid="rs1", iss="https://idp.test/", sub="alice",
               aud=None, ttl=300, iat_offset=0, exp_offset=None,
               nbf_offset=None, claims=None, drop=(), headers=None,
               drop_headers=(), now=None):
    """Return a JWT signed with kid's key from directory.

    aud may be a string or a list. claims and headers are merged over the
    defaults; names in drop / drop_headers are removed afterwards. now
    (seconds) defaults to the current time.
    """
    if kid not in KEYS:
        raise ValueError("unknown kid %r (known: %s)" % (kid, ", ".join(KEYS)))
    now = int(time.time()) if now is None else int(now)
    iat = now + int(iat_offset)
    exp = now + int(exp_offset) if exp_offset is not None else iat + int(ttl)

    body = {"iss": iss, "sub": sub}
    if aud is not None:
        body["aud"] = aud
    body.update({"iat": iat, "exp": exp, "jti": uuid.uuid4().hex,
                 "scope": "openid profile"})
    if nbf_offset is not None:
        body["nbf"] = now + int(nbf_offset)
    body.update(claims or {})
    for name in drop:
        body.pop(name, None)

    head = {"alg": KEYS[kid], "typ": "JWT", "kid": kid}
    head.update(headers or {})
    for name in drop_headers:
        head.pop(name, None)

    return encode(head, body, KEYS[kid], load_signing_key(directory, kid))


def _pairs(items, what):
    """Turn NAME=VALUE arguments into a dict; VALUE is JSON or a string."""
    out = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit("idp.py: --%s needs NAME=VALUE, got %r"
                             % (what, item))
        try:
            out[name] = json.loads(value)
        except ValueError:
            out[name] = value
    return out


def _parser():
    p = argparse.ArgumentParser(prog="idp.py",
                                description="fake identity provider")
    sub = p.add_subparsers(dest="cmd", required=True)

    k = sub.add_parser("keys", help="create the IdP keys")
    k.add_argument("--dir", required=True)
    k.add_argument("--force", action="store_true")

    t = sub.add_parser("token", help="print a signed JWT")
    t.add_argument("--dir", required=True)
    t.add_argument("--kid", default="rs1", choices=sorted(KEYS))
    t.add_argument("--iss", required=True)
    t.add_argument("--aud", action="append")
    t.add_argument("--sub", required=True)
    t.add_argument("--ttl", type=int, default=300)
    t.add_argument("--iat-offset", type=int, default=0)
    t.add_argument("--exp-offset", type=int)
    t.add_argument("--nbf-offset", type=int)
    t.add_argument("--claim", action="append", metavar="NAME=JSON")
    t.add_argument("--drop", action="append", default=[], metavar="NAME")
    t.add_argument("--header", action="append", metavar="NAME=JSON")
    t.add_argument("--drop-header", action="append", default=[],
                   metavar="NAME")
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.cmd == "keys":
        make_keys(args.dir, force=args.force)
        return 0

    aud = args.aud
    if aud is not None and len(aud) == 1:
        aud = aud[0]
    print(make_token(args.dir, kid=args.kid, iss=args.iss, sub=args.sub,
                     aud=aud, ttl=args.ttl, iat_offset=args.iat_offset,
                     exp_offset=args.exp_offset, nbf_offset=args.nbf_offset,
                     claims=_pairs(args.claim, "claim"), drop=args.drop,
                     headers=_pairs(args.header, "header"),
                     drop_headers=args.drop_header))
    return 0


if __name__ == "__main__":
    sys.exit(main())
