#!/usr/bin/python3
"""The real agent behind the shipped HAProxy configuration: real RS256
tokens in, identity headers and a seal out; refusals with their reason;
client copies stripped; NOTIFYs pipelined on one agent connection."""

import concurrent.futures
import json
import re
import subprocess

import harness


def headers_of(rec):
    return {k.lower(): v for k, v in rec["headers"]}


def verify_seal_hs256(keyset_path, seal):
    """Independent check of the seal with PyJWT pinned to HS256."""
    import jwt
    with open(keyset_path) as f:
        keyset = json.load(f)
    key = jwt.algorithms.HMACAlgorithm.from_jwk(json.dumps(keyset["keys"][0]))
    head = jwt.get_unverified_header(seal)
    claims = jwt.decode(seal, key, algorithms=["HS256"],
                        options={"verify_aud": False})
    return head, claims


class Agent(harness.StackTest):

    def setUp(self):
        super().setUp()
        self.stack.start_upstream()
        self.stack.start_real_agent()
        self.stack.start_haproxy()
        self.idp = self.stack.idp

    def bearer(self, **kw):
        return [("Authorization", "Bearer " + self.idp.token(**kw))]

    def test_valid_token(self):
        r = self.stack.get("/api/me", self.bearer(sub="alice"))
        self.assertEqual(r.status, 200, self.stack.agent.log()[-2000:])
        h = headers_of(r.json())
        self.assertEqual(h["x-user-id"], "alice")
        self.assertEqual(h["x-internal-call"], "true")
        seal = h["x-edge-seal"]

        head, claims = verify_seal_hs256(self.stack.keyset, seal)
        self.assertEqual(head, {"alg": "HS256", "typ": "edgeseal+jwt",
                                "kid": "k1"})
        self.assertEqual(claims["sub"], "alice")
        self.assertEqual(claims["iss"], "edgeseal")
        self.assertLessEqual(claims["exp"] - claims["iat"], 60)

        cli = harness.binary("EDGESEAL_E2E_CLI")
        if cli:
            p = subprocess.run([cli, "verify", "--keyset", self.stack.keyset,
                                "--user-id", "alice", seal],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(json.loads(p.stdout)["sub"], "alice")

        # The agent itself answered (debug log), not a stale variable.
        self.assertRegex(self.stack.agent.log(), r"event=notify conn=\d+")

    def test_each_request_gets_its_own_identity(self):
        for sub, kid in (("alice", "rs1"), ("bob", "es1"), ("carol", "rs1")):
            r = self.stack.get("/api/x", self.bearer(sub=sub, kid=kid))
            self.assertEqual(r.status, 200)
            self.assertEqual(headers_of(r.json())["x-user-id"], sub)

    def test_missing_token(self):
        r = self.stack.get("/api/me")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("WWW-Authenticate"), "Bearer")
        self.assertEqual(self.stack.upstream.count(), 0)

    def refused(self, headers, reason):
        r = self.stack.get("/api/me", headers)
        self.assertEqual(r.status, 401, reason)
        self.assertEqual(r.header("WWW-Authenticate"),
                         'Bearer error="invalid_token", '
                         'error_description="%s"' % reason)

    def test_rejected_tokens(self):
        self.refused(self.bearer(exp_offset=-60), "expired")
        self.refused(self.bearer(rogue=True), "bad_signature")
        self.refused(self.bearer(aud="other"), "bad_audience")
        self.refused(self.bearer(iss="https://evil.test/"), "bad_issuer")
        self.refused(self.bearer(kid="nope"), "unknown_kid")
        self.refused([("Authorization", "Bearer not.a.jwt")],
                     "malformed_token")
        self.assertEqual(self.stack.upstream.count(), 0)

    def test_spoofed_headers_with_real_token(self):
        spoof = [("X-USER-ID", "root"), ("x_user_id", "root"),
                 ("X.User.Id", "root"), ("XUserId", "root"),
                 ("x-user_id", "root"), ("X_Internal_Call", "true"),
                 ("x-edge.seal", "forged.forged.forged")]
        r = self.stack.get("/api/me", self.bearer(sub="alice") + spoof)
        self.assertEqual(r.status, 200)
        rec = r.json()
        seal = headers_of(rec)["x-edge-seal"]
        self.assert_no_client_copies(rec, {"xuserid": "alice",
                                           "xinternalcall": "true",
                                           "xedgeseal": seal})

        r = self.stack.get("/api/me", self.bearer(exp_offset=-60) + spoof)
        self.assertEqual(r.status, 401)
        r = self.stack.get("/public/x", self.bearer(sub="alice") + spoof)
        self.assertEqual(r.status, 200)
        self.assert_no_client_copies(r.json())
        self.assertEqual(self.stack.upstream.count(), 2)

    def test_pipelined_notifies(self):
        """Bursts of concurrent requests with distinct tokens (no cache
        hit) until the agent's debug log shows a connection with more than
        one NOTIFY in flight; every answer must carry its own subject."""
        st = self.stack
        tokens = [self.bearer(sub="user%d" % i) for i in range(48)]

        def one(i):
            return i, st.get("/api/p", tokens[i])

        for _ in range(10):
            with concurrent.futures.ThreadPoolExecutor(24) as pool:
                for i, r in pool.map(one, range(len(tokens))):
                    self.assertEqual(r.status, 200)
                    self.assertEqual(headers_of(r.json())["x-user-id"],
                                     "user%d" % i)
            found = re.findall(r"inflight=(\d+)", st.agent.log())
            self.assertTrue(found, "agent logs no inflight= field")
            if max(int(x) for x in found) > 1:
                return
            tokens = [self.bearer(sub="user%d" % i) for i in range(48)]
        self.fail("never saw more than one NOTIFY in flight")


if __name__ == "__main__":
    harness.main()
