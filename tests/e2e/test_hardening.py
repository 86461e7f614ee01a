#!/usr/bin/python3
"""Red-team findings seen through HAProxy: the seal a service receives
never outlives the user's token, and a valid token whose forwarded claims
cannot fit a seal is refused as claims_too_large (not token_too_large)."""

import base64
import json
import time

import harness


def claims_of(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class SealLimits(harness.StackTest):

    def setUp(self):
        super().setUp()
        self.stack.start_upstream()
        self.stack.start_real_agent(
            ttl=60, edit=lambda t: t.replace(
                "leeway = 0", "leeway = 0\nforward_claims = roles"))
        self.stack.start_haproxy()
        self.idp = self.stack.idp

    def get(self, token):
        return self.stack.get("/api/me", [("Authorization",
                                           "Bearer " + token)])

    def test_seal_ends_with_the_token(self):
        for offset in (3, 600):
            tok = self.idp.token(exp_offset=offset, claims={"roles": ["a"]})
            r = self.get(tok)
            self.assertEqual(r.status, 200, r.body)
            h = {k.lower(): v for k, v in r.json()["headers"]}
            seal = claims_of(h["x-edge-seal"])
            texp = claims_of(tok)["exp"]
            self.assertLessEqual(seal["exp"], texp)
            self.assertLessEqual(seal["exp"] - seal["iat"], 60)
            self.assertEqual(seal["roles"], ["a"])
            if offset == 600:       # a long-lived token: the full ttl
                self.assertEqual(seal["exp"] - seal["iat"], 60)

    def test_claims_too_large(self):
        tok = self.idp.token(claims={"roles": ["r" * 100] * 30})
        self.assertLess(len(tok), 8192)
        r = self.get(tok)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("WWW-Authenticate"),
                         'Bearer error="invalid_token", '
                         'error_description="claims_too_large"')
        self.assertEqual(self.stack.upstream.count(), 0)


if __name__ == "__main__":
    harness.main()
