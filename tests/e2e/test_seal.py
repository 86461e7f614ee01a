#!/usr/bin/python3
"""A seal minted by the agent through HAProxy is accepted by an internal
service (edgeseal-example-users) while fresh, refused once replayed after
its TTL, and never lets a different X-User-Id ride on it."""

import base64
import json
import subprocess
import time

import harness

TTL = 2
LEEWAY = 1


def claims_of(seal):
    part = seal.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class SealReplay(harness.StackTest):

    def setUp(self):
        super().setUp()
        st = self.stack
        self.users_bin = harness.require("EDGESEAL_E2E_USERS")
        st.start_upstream()
        st.start_real_agent(ttl=TTL)
        st.start_haproxy()
        self.users_port = harness.free_port()
        st.start_service("users", [
            self.users_bin, "--listen", "127.0.0.1:%d" % self.users_port,
            "--keyset", st.keyset, "--leeway", str(LEEWAY)],
            self.users_port)

    def users(self, headers):
        return harness.request(self.users_port, "/users/me", headers)

    def sealed(self):
        tok = self.stack.idp.token(sub="alice")
        r = self.stack.get("/api/me", [("Authorization", "Bearer " + tok)])
        self.assertEqual(r.status, 200)
        h = {k.lower(): v for k, v in r.json()["headers"]}
        return h["x-edge-seal"]

    def test_replay_after_ttl(self):
        seal = self.sealed()
        exp = claims_of(seal)["exp"]
        self.assertLessEqual(exp - int(time.time()), TTL)
        three = [("X-User-Id", "alice"), ("X-Internal-Call", "true"),
                 ("X-Edge-Seal", seal)]

        r = self.users(three)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["sub"], "alice")

        # Same seal, someone else's id: refused.
        r = self.users([("X-User-Id", "mallory")] + three[1:])
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"], "subject_mismatch")

        # Poll the clock (not a sleep of a guessed length) until the seal
        # is past exp + leeway, then replay it. The service reads time(),
        # which on x86-64 is the kernel's coarse clock and may lag
        # CLOCK_REALTIME by one tick (a few ms): a 0.1 s margin covers it.
        harness.poll(lambda: time.time() > exp + LEEWAY + 1.1, TTL + 10,
                     "seal past its lifetime", interval=0.1)
        r = self.users(three)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"], "expired")

        cli = harness.binary("EDGESEAL_E2E_CLI")
        if cli:
            p = subprocess.run([cli, "verify", "--keyset", self.stack.keyset,
                                "--user-id", "alice", seal],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 1)
            self.assertIn("expired", p.stdout + p.stderr)

    def test_headers_without_seal(self):
        r = self.users([("X-User-Id", "alice"), ("X-Internal-Call", "true")])
        self.assertEqual(r.status, 401)


if __name__ == "__main__":
    harness.main()
