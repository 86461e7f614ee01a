#!/usr/bin/python3
"""The example services on their own, without HAProxy (ctest
e2e.examples.services): users and orders verify the three headers, orders
forwards them, the job mints with a restricted key, SIGHUP reloads keys,
logs never carry a seal, and the Python verifier printed in README.md
accepts and refuses what libedgeseal does.

    test_examples.py USERS ORDERS JOB CLI     (paths of the four binaries)

Every listener is on 127.0.0.1 with a port the kernel picked. Readiness
and log lines are awaited by polling with a deadline, never a fixed sleep.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BINS = {}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(cond, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def get(port, path, headers=()):
    """GET with headers as (name, value) pairs, repeats kept."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", path)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        r = conn.getresponse()
        body = r.read().decode()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body
    finally:
        conn.close()


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class Service:
    """One example service in the background, its stderr in a file."""

    def __init__(self, workdir, name, argv, port):
        self.log_path = os.path.join(workdir, name + ".log")
        self.port = port
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log)
        poll(self.answers, name + " to listen")

    def answers(self):
        if self.proc.poll() is not None:
            raise AssertionError("service exited:\n" + self.log())
        try:
            get(self.port, "/")
            return True
        except OSError:
            return False

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        return self.proc.returncode


class Examples(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="es-examples-")
        cls.services = []
        cls.keys = os.path.join(cls.dir, "services.jwks")
        cls.cli("keygen", "--keyset", cls.keys, "--kid", "edge-1")
        cls.cli("keygen", "--keyset", cls.keys, "--kid", "job-1")
        with open(cls.keys) as f:
            doc = json.load(f)
        for k in doc["keys"]:
            if k["kid"] == "job-1":
                k.update({"edgeseal_sub_prefix": "job:",
                          "edgeseal_require_act": True})
                job_key = k
        write_private(cls.keys, json.dumps(doc))
        cls.job_keys = os.path.join(cls.dir, "job.jwks")
        write_private(cls.job_keys, json.dumps({"keys": [job_key]}))

        cls.users = cls.start("users", BINS["users"], "--keyset", cls.keys)
        cls.orders = cls.start("orders", BINS["orders"], "--keyset",
                               cls.keys, "--users", cls.users_url())

    @classmethod
    def tearDownClass(cls):
        for s in cls.services:
            s.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def start(cls, name, binary, *args):
        port = free_port()
        s = Service(cls.dir, name + str(len(cls.services)),
                    [binary, "--listen", "127.0.0.1:%d" % port] + list(args),
                    port)
        cls.services.append(s)
        return s

    @classmethod
    def users_url(cls):
        return "http://127.0.0.1:%d/" % cls.users.port

    @classmethod
    def cli(cls, *args):
        p = subprocess.run([BINS["cli"]] + list(args), capture_output=True,
                           text=True, timeout=30)
        if p.returncode != 0:
            raise AssertionError("edgeseal %s: %s" % (args[0], p.stderr))
        return p.stdout.strip()

    def mint(self, sub="alice", kid="edge-1", *extra):
        return self.cli("mint", "--keyset", self.keys, "--kid", kid,
                        "--sub", sub, *extra)

    @staticmethod
    def sealed(sub, seal):
        return [("X-User-Id", sub), ("X-Internal-Call", "true"),
                ("X-Edge-Seal", seal)]

    def assertRefused(self, port, path, headers, reason):
        status, hdrs, body = get(port, path, headers)
        self.assertEqual(status, 401, body)
        self.assertEqual(json.loads(body), {"error": reason})
        challenge = hdrs["www-authenticate"]
        if reason == "missing_token":
            self.assertEqual(challenge, "Bearer")
        else:
            self.assertEqual(challenge, 'Bearer error="invalid_token", '
                             'error_description="%s"' % reason)

    # ------------------------------------------------------------ users

    def test_users_answers_the_sealed_identity(self):
        seal = self.mint("alice", "edge-1", "--claim", 'roles=["buyer"]')
        status, hdrs, body = get(self.users.port, "/users/me",
                                 self.sealed("alice", seal))
        self.assertEqual(status, 200, body)
        self.assertEqual(hdrs["content-type"], "application/json")
        doc = json.loads(body)
        self.assertEqual((doc["sub"], doc["kid"], doc["service"]),
                         ("alice", "edge-1", "users"))
        self.assertEqual(doc["claims"], {"roles": ["buyer"]})
        self.assertNotIn("act", doc)

    def test_users_refusals(self):
        seal = self.mint("alice")
        now = int(time.time())
        old = self.mint("alice", "edge-1", "--at", str(now - 300))
        other = re.sub(r"[^.]+$", "A" * 43, seal)
        cases = [
            ([("X-User-Id", "admin"), ("X-Internal-Call", "true")],
             "missing_token"),
            ([("X-User-Id", "alice"), ("X-Edge-Seal", seal)],
             "missing_internal_call"),
            ([("X-User-Id", "alice"), ("X-Internal-Call", "yes"),
              ("X-Edge-Seal", seal)], "missing_internal_call"),
            (self.sealed("bob", seal), "subject_mismatch"),
            (self.sealed("alice", seal) + [("x-user-id", "alice")],
             "duplicate_header"),
            (self.sealed("alice", seal) + [("X-EDGE-SEAL", seal)],
             "duplicate_header"),
            (self.sealed("alice", seal) + [("x-internal-call", "true")],
             "duplicate_header"),
            (self.sealed("alice", old), "expired"),
            (self.sealed("alice", other), "bad_signature"),
        ]
        for headers, reason in cases:
            with self.subTest(reason=reason,
                              names=[n for n, _ in headers]):
                self.assertRefused(self.users.port, "/users/me", headers,
                                   reason)

    def test_users_checks_before_routing(self):
        status, _, body = get(self.users.port, "/admin")
        self.assertEqual((status, json.loads(body)),
                         (401, {"error": "missing_token"}))
        status, _, _ = get(self.users.port, "/admin",
                           self.sealed("alice", self.mint("alice")))
        self.assertEqual(status, 404)

    # ----------------------------------------------------------- orders

    def test_orders_forwards_the_same_seal_to_users(self):
        seal = self.mint("carol")
        status, _, body = get(self.orders.port, "/orders/7",
                              self.sealed("carol", seal))
        self.assertEqual(status, 200, body)
        doc = json.loads(body)
        self.assertEqual(doc["service"], "orders")
        self.assertEqual(doc["users_status"], 200)
        self.assertEqual(doc["identity"]["sub"], "carol")
        self.assertEqual(doc["users"]["sub"], "carol")
        self.assertEqual(doc["users"]["jti"], doc["identity"]["jti"])

    def test_orders_refuses_before_calling_users(self):
        before = self.users.log().count("\n")
        self.assertRefused(self.orders.port, "/orders/7",
                           [("X-User-Id", "carol"),
                            ("X-Internal-Call", "true")], "missing_token")
        # users logs each request before orders can answer its own, so an
        # unchanged log here means users was never called.
        self.assertEqual(self.users.log().count("\n"), before)

    def test_orders_reports_an_unreachable_users(self):
        dead = "http://127.0.0.1:%d" % free_port()
        orders = self.start("orders-dead", BINS["orders"], "--keyset",
                            self.keys, "--users", dead)
        status, _, body = get(orders.port, "/orders/7",
                              self.sealed("carol", self.mint("carol")))
        self.assertEqual(status, 502, body)
        doc = json.loads(body)
        self.assertEqual((doc["users_status"], doc["users"]), (0, None))
        self.assertEqual(doc["identity"]["sub"], "carol")

    # -------------------------------------------------------------- job

    def job(self, *args):
        return subprocess.run([BINS["job"], "--keyset", self.job_keys,
                               "--kid", "job-1", "--users", self.users_url()]
                              + list(args), capture_output=True, text=True,
                              timeout=30)

    def test_job_mints_and_calls_users(self):
        p = self.job("--sub", "job:nightly", "--act", "report-job")
        self.assertEqual(p.returncode, 0, p.stderr)
        first, second = p.stdout.splitlines()[:2]
        self.assertEqual(first, "status: 200")
        doc = json.loads(second)
        self.assertEqual((doc["sub"], doc["act"], doc["kid"]),
                         ("job:nightly", "report-job", "job-1"))

    def test_job_key_restrictions(self):
        p = self.job("--sub", "alice", "--act", "report-job")
        self.assertEqual(p.returncode, 1)
        self.assertIn("key_restricted", p.stderr)
        self.assertEqual(p.stdout, "")
        p = self.job("--sub", "job:nightly")
        self.assertEqual(p.returncode, 2, "--act is required")

    def test_job_fails_when_users_refuses(self):
        # users trusts job-1 only with a "job:" subject and an act; a set
        # without the restriction lets the job mint what users refuses.
        loose = os.path.join(self.dir, "loose.jwks")
        with open(self.job_keys) as f:
            doc = json.load(f)
        for k in doc["keys"]:
            k.pop("edgeseal_sub_prefix")
        write_private(loose, json.dumps(doc))
        p = subprocess.run([BINS["job"], "--keyset", loose, "--kid", "job-1",
                            "--users", self.users_url(), "--sub", "alice",
                            "--act", "x"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("status: 401", p.stdout)
        self.assertIn("key_restricted", p.stdout)

    # ----------------------------------------------------------- reload

    def test_sighup_reload_keeps_old_keys_on_a_bad_file(self):
        path = os.path.join(self.dir, "reload.jwks")
        shutil.copy(self.keys, path)
        os.chmod(path, 0o600)
        users = self.start("users-reload", BINS["users"], "--keyset", path)
        seal = self.mint("dave")

        write_private(path, "{")
        users.proc.send_signal(signal.SIGHUP)
        poll(lambda: "reload failed" in users.log(), "reload failed")
        status, _, _ = get(users.port, "/users/me", self.sealed("dave", seal))
        self.assertEqual(status, 200)

        # A good file without edge-1: its seals stop being accepted.
        with open(self.keys) as f:
            doc = json.load(f)
        doc["keys"] = [k for k in doc["keys"] if k["kid"] != "edge-1"]
        write_private(path, json.dumps(doc))
        users.proc.send_signal(signal.SIGHUP)
        poll(lambda: "reload ok" in users.log(), "reload ok")
        self.assertRefused(users.port, "/users/me",
                           self.sealed("dave", seal), "unknown_kid")
        self.assertEqual(users.stop(), 0)

    # ------------------------------------------------------------- logs

    def test_logs_show_fingerprints_never_seals(self):
        seal = self.mint("erin")
        get(self.orders.port, "/orders/1", self.sealed("erin", seal))
        get(self.users.port, "/users/me", self.sealed("mallory", seal))
        poll(lambda: "subject_mismatch" in self.users.log(), "log line")
        for s in (self.users, self.orders):
            log = s.log()
            self.assertNotIn(seal, log)
            self.assertNotIn(seal.split(".")[2], log)
            self.assertRegex(log, r"sub=erin act=- kid=edge-1 "
                                  r"seal=[0-9a-f]{8}\n")

    # ------------------------------------------------- README's Python

    def readme_verifier(self):
        with open(os.path.join(HERE, "README.md")) as f:
            blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
        code = [b for b in blocks if "def verify_request" in b]
        self.assertEqual(len(code), 1)
        env = {}
        exec(compile(code[0], "README.md", "exec"), env)
        return env["load_seal_keys"](self.keys), env["verify_request"]

    def test_readme_python_verifier_agrees(self):
        keys, verify = self.readme_verifier()
        seal = self.mint("alice")
        self.assertEqual(verify(self.sealed("alice", seal), keys)["sub"],
                         "alice")
        job = self.cli("mint", "--keyset", self.job_keys, "--kid", "job-1",
                       "--sub", "job:x", "--act", "svc")
        self.assertEqual(verify(self.sealed("job:x", job), keys)["act"],
                         {"sub": "svc"})

        refused = [
            (self.sealed("bob", seal), "subject_mismatch"),
            (self.sealed("alice", seal) + [("X-USER-ID", "alice")],
             "duplicate_header"),
            ([("X-User-Id", "alice"), ("X-Edge-Seal", seal)],
             "missing_internal_call"),
            ([("X-User-Id", "alice"), ("X-Internal-Call", "true")],
             "missing_token"),
        ]
        for headers, reason in refused:
            with self.subTest(reason=reason):
                with self.assertRaises(ValueError) as ctx:
                    verify(headers, keys)
                self.assertEqual(str(ctx.exception), reason)

    # Seals written by hand under the job key, past any minter: libedgeseal
    # (the CLI) and the README's verifier refuse each for the same reason.

    def job_seal(self, over, header=None):
        with open(self.job_keys) as f:
            k = json.load(f)["keys"][0]["k"]
        secret = base64.urlsafe_b64decode(k + "=" * (-len(k) % 4))
        now = int(time.time())
        claims = {"iss": "edgeseal", "sub": "job:x", "iat": now,
                  "exp": now + 60, "jti": "AAECAwQFBgcICQoLDA0ODw",
                  "act": {"sub": "svc"}}
        claims.update(over)
        header = header or {"alg": "HS256", "typ": "edgeseal+jwt",
                            "kid": "job-1"}

        def b64(obj):
            text = json.dumps(obj, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(text).rstrip(b"=").decode()
        signing = b64(header) + "." + b64(claims)
        mac = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
        return signing + "." + base64.urlsafe_b64encode(mac).rstrip(
            b"=").decode(), claims["sub"]

    def assertBothRefuse(self, keyset, keys, verify, seal, sub, reason):
        p = subprocess.run([BINS["cli"], "verify", "--keyset", keyset,
                            "--user-id", sub, seal], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual((p.returncode, p.stdout.strip()), (1, reason))
        with self.assertRaises(ValueError) as ctx:
            verify(self.sealed(sub, seal), keys)
        self.assertEqual(str(ctx.exception), reason)

    def test_readme_python_verifier_refuses_what_libedgeseal_does(self):
        keys, verify = self.readme_verifier()
        now = int(time.time())
        std = {"alg": "HS256", "typ": "edgeseal+jwt", "kid": "job-1"}
        cases = [
            ({"sub": "job:x,alice"}, None, "invalid_subject"),
            ({"sub": "job:x\nalice"}, None, "invalid_subject"),
            ({"sub": "job:x\x7f"}, None, "invalid_subject"),
            ({"sub": "job:x\u0085y"}, None, "invalid_subject"),
            ({"sub": "job:x\u00a0"}, None, "invalid_subject"),
            ({"sub": "job:x\u202ey"}, None, "invalid_subject"),
            ({"sub": "job:x\u2028y"}, None, "invalid_subject"),
            ({"sub": "job:x\u200by"}, None, "invalid_subject"),
            ({"sub": "job:x\U000e0041y"}, None, "invalid_subject"),
            ({"act": "svc"}, None, "invalid_claim_type"),
            ({"act": {"sub": "svc", "x": 1}}, None, "invalid_claim_type"),
            ({"act": {"sub": 5}}, None, "invalid_claim_type"),
            ({"act": {"sub": "a,b"}}, None, "invalid_claim_type"),
            ({"jti": 5}, None, "invalid_claim_type"),
            ({"exp": now + 60.0}, None, "invalid_claim_type"),
            ({"roles": ["admin"]}, None, "key_restricted"),
            ({"tenant": "*"}, None, "key_restricted"),
            ({"sub": "alice"}, None, "key_restricted"),
            ({}, dict(std, typ="JWT"), "unsupported_token_type"),
            ({}, dict(std, alg="none"), "alg_not_allowed"),
            ({}, dict(std, cty="x"), "malformed_token"),
        ]
        ok, sub = self.job_seal({})
        self.assertEqual(verify(self.sealed(sub, ok), keys)["sub"], sub)
        for over, header, reason in cases:
            with self.subTest(claims=over, header=header):
                seal, sub = self.job_seal(over, header)
                self.assertBothRefuse(self.keys, keys, verify, seal, sub,
                                      reason)

    def test_readme_python_verifier_key_sets(self):
        _, verify = self.readme_verifier()
        load = verify.__globals__["load_seal_keys"]

        def keyset(name, change):
            with open(self.keys) as f:
                doc = json.load(f)
            for k in doc["keys"]:
                if k["kid"] == "job-1":
                    change(k)
            path = os.path.join(self.dir, name)
            write_private(path, json.dumps(doc))
            return path

        # A listed claim passes both; an unlisted one neither.
        allowed = keyset("allowed.jwks", lambda k: k.update(
            edgeseal_allowed_claims=["tenant"]))
        seal, sub = self.job_seal({"tenant": "t1"})
        self.assertEqual(verify(self.sealed(sub, seal), load(allowed))
                         ["tenant"], "t1")
        self.assertEqual(subprocess.run(
            [BINS["cli"], "verify", "--keyset", allowed, seal],
            capture_output=True, timeout=30).returncode, 0)
        seal, sub = self.job_seal({"tenant": "t1", "roles": ["admin"]})
        self.assertBothRefuse(allowed, load(allowed), verify, seal, sub,
                              "key_restricted")

        # No alg means HS256: the key is kept, not dropped.
        no_alg = keyset("no-alg.jwks", lambda k: k.pop("alg"))
        seal, sub = self.job_seal({})
        self.assertEqual(verify(self.sealed(sub, seal), load(no_alg))
                         ["sub"], sub)

        # Another alg: both refuse the whole key set.
        hs512 = keyset("hs512.jwks", lambda k: k.update(alg="HS512"))
        self.assertRaises(ValueError, load, hs512)
        p = subprocess.run([BINS["cli"], "verify", "--keyset", hs512, seal],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((p.returncode, p.stdout.strip()), (1, "no_key"))


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    for name, path in zip(("users", "orders", "job", "cli"), sys.argv[1:]):
        BINS[name] = path
    unittest.main(argv=sys.argv[:1], verbosity=2)


if __name__ == "__main__":
    main()
