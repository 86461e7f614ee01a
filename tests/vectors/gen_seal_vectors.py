#!/usr/bin/python3
"""Writes seal-vectors.json: the edgeseal seal test vectors.

The seals are built here with Python's own hmac and base64 modules, not by
libedgeseal, so the vectors check the C verifier against an independent
implementation of docs/seal-format.md. The output is deterministic (fixed
keys, fixed jti); run it again only when adding vectors, and check in the
JSON:  /usr/bin/python3 tests/vectors/gen_seal_vectors.py > seal-vectors.json
"""
import base64
import hashlib
import hmac
import json
import sys

NOW = 1800000000
USER_KEY = bytes(range(1, 33))
JOB_KEY = bytes(range(101, 133))
REPORT_KEY = bytes(range(51, 83))
OTHER_KEY = bytes(range(201, 233))


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(kid, key, **extra):
    d = {"kty": "oct", "kid": kid, "alg": "HS256", "k": b64(key)}
    d.update(extra)
    return d


KEYSETS = {
    "main": {"keys": [
        jwk("2026-12-a", USER_KEY),
        jwk("jobs", JOB_KEY, edgeseal_sub_prefix="job:",
            edgeseal_require_act=True),
    ]},
    "rotated": {"keys": [jwk("2027-01-a", OTHER_KEY)]},
    # Restricted keys and the forwarded claims they may carry.
    "restricted": {"keys": [
        jwk("jobs", JOB_KEY, edgeseal_sub_prefix="job:",
            edgeseal_require_act=True),
        jwk("report", REPORT_KEY, edgeseal_sub_prefix="job:",
            edgeseal_require_act=True,
            edgeseal_allowed_claims=["tenant", "scope"]),
        jwk("scope-only", OTHER_KEY, edgeseal_allowed_claims=["scope"]),
        jwk("act-optional", USER_KEY, edgeseal_require_act=False),
    ]},
}

HEADER = '{"alg":"HS256","typ":"edgeseal+jwt","kid":"2026-12-a"}'
JOB_HEADER = '{"alg":"HS256","typ":"edgeseal+jwt","kid":"jobs"}'


def header(kid):
    return '{"alg":"HS256","typ":"edgeseal+jwt","kid":"%s"}' % kid


def claims(**over):
    """Standard claims as compact JSON text; None drops a member."""
    d = {"iss": "edgeseal", "sub": "alice", "iat": NOW, "exp": NOW + 60,
         "jti": "AAECAwQFBgcICQoLDA0ODw"}
    d.update(over)
    d = {k: v for k, v in d.items() if v is not None}
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


def seal(header=HEADER, body=None, key=USER_KEY, mac=None):
    body = claims() if body is None else body
    signing = b64(header.encode()) + "." + b64(body.encode())
    tag = hmac.new(key, signing.encode(), hashlib.sha256).digest()
    if mac is not None:
        tag = mac(tag)
    return signing + "." + b64(tag)


VECTORS = []


def vec(name, token, reason, now=NOW, keyset="main", options=None,
        sub=None, request=None, act=None, claims_json=None):
    v = {"name": name, "keyset": keyset, "seal": token, "now": now,
         "options": options or {}, "reason": reason}
    if reason == "ok":
        v["sub"] = sub or "alice"
        if act:
            v["act"] = act
        v["claims_json"] = claims_json or "{}"
    if request is not None:
        v["request"] = request
    VECTORS.append(v)


def req(user=("alice",), internal=("true",), seals=None):
    return {"X-User-Id": list(user), "X-Internal-Call": list(internal),
            "X-Edge-Seal": list(seals) if seals is not None else None}


def restricted_vectors():
    """A restricted key forwards only the claims it lists (section 3)."""
    job = {"sub": "job:nightly", "act": {"sub": "billing"}}

    def rvec(name, kid, key, reason, sub="job:nightly", act="billing",
             claims_json=None, body=None, **fwd):
        over = dict(job, sub=sub) if act else {"sub": sub}
        vec(name, seal(header=header(kid), key=key,
                       body=body or claims(**over, **fwd)),
            reason, keyset="restricted", sub=sub, act=act,
            claims_json=claims_json)

    rvec("accept: restricted key, no forwarded claim", "jobs", JOB_KEY, "ok")
    rvec("key: restricted key, a claim it does not list", "jobs", JOB_KEY,
         "key_restricted", roles=["admin"])
    rvec("key: restricted key, tenant it does not list", "jobs", JOB_KEY,
         "key_restricted", tenant="*")
    rvec("accept: restricted key, the claims it lists", "report",
         REPORT_KEY, "ok", tenant="t1", scope="read",
         claims_json='{"tenant":"t1","scope":"read"}')
    rvec("accept: restricted key, listed name escaped", "report",
         REPORT_KEY, "ok", claims_json='{"tenant":"t1"}',
         body=claims(**job)[:-1] + ',"t\\u0065nant":"t1"}')
    rvec("key: restricted key, one listed and one not", "report",
         REPORT_KEY, "key_restricted", tenant="t1", roles=["admin"])
    rvec("key: restricted key, a listed name in another case", "report",
         REPORT_KEY, "key_restricted", Tenant="t1")
    rvec("accept: allowed list alone, listed claim, any subject",
         "scope-only", OTHER_KEY, "ok", sub="alice", act=None,
         scope="read", claims_json='{"scope":"read"}')
    rvec("key: allowed list alone, a claim it does not list", "scope-only",
         OTHER_KEY, "key_restricted", sub="alice", act=None, roles=["a"])
    rvec("accept: edgeseal_require_act false, no forwarded claim",
         "act-optional", USER_KEY, "ok", sub="alice", act=None)
    rvec("key: edgeseal_require_act false still restricts claims",
         "act-optional", USER_KEY, "key_restricted", sub="alice", act=None,
         scope="read")


def main():
    good = seal()
    opts = {"leeway": 5}
    vec("accept: plain seal", good, "ok")
    vec("accept: header members in another order",
        seal(header='{"kid":"2026-12-a","alg":"HS256","typ":"edgeseal+jwt"}'),
        "ok")
    vec("accept: forwarded claims",
        seal(body=claims(scope="read", roles=["a", "b"])), "ok",
        claims_json='{"scope":"read","roles":["a","b"]}')
    vec("accept: audience as configured",
        seal(body=claims(aud="api")), "ok", options={"audience": "api"})
    vec("accept: job key, job subject, act",
        seal(header=JOB_HEADER, body=claims(sub="job:nightly",
             act={"sub": "billing"}), key=JOB_KEY), "ok",
        sub="job:nightly", act="billing")
    vec("accept: exp + leeway is the last second", good, "ok",
        now=NOW + 65, options=opts)
    vec("accept: iat - leeway is the first second", good, "ok",
        now=NOW - 5, options=opts)
    vec("accept: lifetime equal to the maximum",
        seal(body=claims(exp=NOW + 300)), "ok")
    vec("accept: 256-byte subject", seal(body=claims(sub="x" * 256)), "ok",
        sub="x" * 256)

    vec("size: empty", "", "missing_token")
    vec("size: over 4096", "A" * 4097, "token_too_large")
    vec("shape: two segments", good.rsplit(".", 1)[0], "malformed_token")
    vec("shape: four segments", good + ".e30", "malformed_token")
    vec("shape: empty MAC", good.rsplit(".", 1)[0] + ".", "malformed_token")
    vec("base64: padding", good + "=", "malformed_token")
    last = good[-1]
    flipped = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    nxt = flipped[flipped.index(last) ^ 1]
    vec("base64: unused bit set in the MAC", good[:-1] + nxt,
        "malformed_token")
    vec("base64: standard alphabet",
        good.replace("-", "+").replace("_", "/") if ("-" in good or "_" in good)
        else good[:-2] + "+" + good[-1], "malformed_token")
    vec("header: duplicate member",
        seal(header='{"alg":"HS256","alg":"HS256","typ":"edgeseal+jwt",'
             '"kid":"2026-12-a"}'), "duplicate_member")
    for alg in ("none", "hs256", "HS512", "RS256"):
        vec("header: alg " + alg, seal(header=HEADER.replace("HS256", alg)),
            "alg_not_allowed")
    vec("header: crit", seal(header=HEADER[:-1] + ',"crit":["exp"]}'),
        "unsupported_crit")
    vec("header: jwk", seal(header=HEADER[:-1] + ',"jwk":{}}'),
        "untrusted_key_header")
    vec("header: typ JWT", seal(header=HEADER.replace("edgeseal+jwt", "JWT")),
        "unsupported_token_type")
    vec("header: typ missing",
        seal(header='{"alg":"HS256","kid":"2026-12-a"}'),
        "unsupported_token_type")
    vec("header: extra member", seal(header=HEADER[:-1] + ',"cty":"x"}'),
        "malformed_token")
    vec("key: unknown kid", seal(header=HEADER.replace("2026-12-a", "zz")),
        "unknown_kid")
    vec("key: kid of a removed key", good, "unknown_kid", keyset="rotated")
    for n in (1, 16, 31, 33):
        vec("mac: %d bytes" % n, seal(mac=lambda t, n=n: (t + b"\0")[:n]),
            "bad_signature")
    vec("mac: another key's", seal(key=OTHER_KEY), "bad_signature")
    vec("mac: one bit flipped", seal(mac=lambda t: bytes([t[0] ^ 1]) + t[1:]),
        "bad_signature")
    vec("claims: duplicate member",
        seal(body=claims()[:-1] + ',"sub":"bob"}'), "duplicate_member")
    vec("claims: not an object", seal(body="[1]"), "malformed_token")
    vec("claims: sub missing", seal(body=claims(sub=None)), "missing_claim")
    vec("claims: exp missing", seal(body=claims(exp=None)), "missing_claim")
    vec("claims: jti missing", seal(body=claims(jti=None)), "missing_claim")
    vec("claims: sub a number", seal(body=claims(sub=7)),
        "invalid_claim_type")
    vec("claims: iat a string", seal(body=claims(iat=str(NOW))),
        "invalid_claim_type")
    vec("claims: exp a float", seal(body=claims(exp=NOW + 60.0)),
        "invalid_claim_type")
    vec("claims: exp 2^53", seal(body=claims(exp=2 ** 53)),
        "invalid_claim_type")
    vec("claims: aud an array", seal(body=claims(aud=["api"])),
        "invalid_claim_type")
    vec("claims: act a string", seal(body=claims(act="svc")),
        "invalid_claim_type")
    vec("claims: sub with a comma", seal(body=claims(sub="alice,bob")),
        "invalid_subject")
    vec("claims: sub with a newline", seal(body=claims(sub="alice\nbob")),
        "invalid_subject")
    vec("claims: 257-byte subject", seal(body=claims(sub="x" * 257)),
        "invalid_subject")
    vec("claims: sub with a trailing space", seal(body=claims(sub="admin ")),
        "invalid_subject")
    vec("claims: sub with a leading space", seal(body=claims(sub=" admin")),
        "invalid_subject")
    vec("claims: sub with a trailing no-break space",
        seal(body=claims(sub="admin\u00a0")), "invalid_subject")
    vec("claims: sub with a C1 control (NEL)",
        seal(body=claims(sub="ad\u0085min")), "invalid_subject")
    vec("claims: sub with a right-to-left override inside",
        seal(body=claims(sub="ali\u202ecod")), "invalid_subject")
    vec("claims: sub with a line separator inside",
        seal(body=claims(sub="ad\u2028min")), "invalid_subject")
    vec("claims: sub with a zero-width space inside",
        seal(body=claims(sub="ali\u200bce")), "invalid_subject")
    vec("claims: sub with a soft hyphen inside",
        seal(body=claims(sub="ali\u00adce")), "invalid_subject")
    vec("time: iat ahead by leeway + 1", good, "iat_in_future",
        now=NOW - 6, options=opts)
    vec("time: nbf ahead by leeway + 1",
        seal(body=claims(nbf=NOW + 10)), "not_yet_valid", now=NOW + 4,
        options=opts)
    vec("time: exp passed by leeway + 1", good, "expired", now=NOW + 66,
        options=opts)
    vec("time: lifetime one second over the maximum",
        seal(body=claims(exp=NOW + 301)), "lifetime_too_long")
    vec("party: wrong issuer", seal(body=claims(iss="someone")),
        "bad_issuer")
    vec("party: audience wanted, none in the seal", good, "bad_audience",
        options={"audience": "api"})
    vec("party: wrong audience", seal(body=claims(aud="web")),
        "bad_audience", options={"audience": "api"})
    vec("party: audience in the seal, none configured",
        seal(body=claims(aud="api")), "bad_audience")
    vec("key: job key signing a user subject",
        seal(header=JOB_HEADER, body=claims(act={"sub": "billing"}),
             key=JOB_KEY), "key_restricted")
    vec("key: job key without act",
        seal(header=JOB_HEADER, body=claims(sub="job:n"), key=JOB_KEY),
        "key_restricted")
    restricted_vectors()

    vec("request: accepted", good, "ok", request=req(seals=[good]))
    vec("request: sub differs from X-User-Id", good, "subject_mismatch",
        request=req(user=["bob"], seals=[good]))
    vec("request: no X-User-Id", good, "subject_mismatch",
        request=req(user=[], seals=[good]))
    vec("request: two X-User-Id", good, "duplicate_header",
        request=req(user=["alice", "alice"], seals=[good]))
    vec("request: two seals", good, "duplicate_header",
        request=req(seals=[good, good]))
    vec("request: no seal", "", "missing_token", request=req(seals=[]))
    vec("request: X-Internal-Call missing", good, "missing_internal_call",
        request=req(internal=[], seals=[good]))
    vec("request: X-Internal-Call false", good, "missing_internal_call",
        request=req(internal=["false"], seals=[good]))

    out = {
        "description": "edgeseal seal vectors; see docs/seal-format.md. "
                       "Each vector: verify seal (or the request) with the "
                       "named key set at time now under options (defaults: "
                       "issuer edgeseal, no audience, leeway 0, "
                       "max_lifetime 300, max_size 4096); expect reason, "
                       "and on ok the subject, act and forwarded claims.",
        "keysets": KEYSETS,
        "vectors": VECTORS,
    }
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


main()
