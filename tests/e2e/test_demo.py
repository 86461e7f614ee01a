#!/usr/bin/python3
"""The demo's flows end to end: HAProxy -> agent -> orders -> users with
one seal forwarded unchanged; a forged identity sent straight to users;
the report job minting its own seal (restricted key) and calling users."""

import subprocess

import harness


class Demo(harness.StackTest):

    def setUp(self):
        super().setUp()
        st = self.stack
        users_bin = harness.require("EDGESEAL_E2E_USERS")
        orders_bin = harness.require("EDGESEAL_E2E_ORDERS")
        self.job_bin = harness.require("EDGESEAL_E2E_JOB")

        # Services trust the gateway's key and the job's; the job's key may
        # only mint "job:" subjects that name the acting service.
        services, keys = st.write_keyset("services.jwks", {
            "edge-1": None,
            "job-1": {"edgeseal_sub_prefix": "job:",
                      "edgeseal_require_act": True}})
        st.keyset = harness.os.path.join(st.dir, "agent.jwks")
        harness.write_jwks(st.keyset, [keys["edge-1"]])
        st.signing_kid = "edge-1"
        self.job_keyset = harness.os.path.join(st.dir, "job.jwks")
        harness.write_jwks(self.job_keyset, [keys["job-1"]])

        self.users_port, orders_port = harness.free_port(), 0
        st.start_service("users", [
            users_bin, "--listen", "127.0.0.1:%d" % self.users_port,
            "--keyset", services], self.users_port)
        orders_port = harness.free_port()
        st.start_service("orders", [
            orders_bin, "--listen", "127.0.0.1:%d" % orders_port,
            "--keyset", services,
            "--users", "http://127.0.0.1:%d" % self.users_port], orders_port)

        # HAProxy's upstream is orders; keep the echo server unused.
        st.start_upstream()
        st.upstream.port = orders_port
        st.start_real_agent()
        st.start_haproxy()

    def test_orders_calls_users_with_the_same_seal(self):
        tok = self.stack.idp.token(sub="alice")
        r = self.stack.get("/orders/42", [("Authorization", "Bearer " + tok),
                                          ("X-User-Id", "admin")])
        self.assertEqual(r.status, 200, r.body)
        doc = r.json()
        self.assertEqual(doc["identity"]["sub"], "alice")
        self.assertEqual(doc["users_status"], 200)
        self.assertEqual(doc["users"]["sub"], "alice")
        self.assertEqual(doc["identity"]["jti"], doc["users"]["jti"])

    def test_no_token_never_reaches_orders(self):
        r = self.stack.get("/orders/42")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("WWW-Authenticate"), "Bearer")
        orders = [p for p in self.stack.procs if p.name == "orders"][0]
        self.assertNotIn("/orders/42", orders.log())

    def test_forged_identity_inside_the_network(self):
        r = harness.request(self.users_port, "/users/me",
                            [("X-User-Id", "admin"),
                             ("X-Internal-Call", "true")])
        self.assertEqual(r.status, 401)

    def job(self, sub, act="report-job"):
        argv = [self.job_bin, "--keyset", self.job_keyset, "--kid", "job-1",
                "--sub", sub, "--users",
                "http://127.0.0.1:%d" % self.users_port]
        if act:
            argv += ["--act", act]
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=30)

    def test_job_mints_its_own_seal(self):
        p = self.job("job:nightly-report")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("job:nightly-report", p.stdout)

    def test_job_key_cannot_mint_a_user(self):
        p = self.job("alice")
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    harness.main()
