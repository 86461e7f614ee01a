#!/usr/bin/python3
"""Keys that rotate without downtime (docs/key-rotation.md), end to end:
HAProxy + edgeseal-spoa + edgeseal-example-users.

- seal rotation: add a key everywhere, switch the signing kid, old seals
  keep verifying, remove the old key, old seals are refused;
- the agent reloads when a file its configuration names changes, including
  the Kubernetes "..data" symlink swap, and a broken file keeps the old
  snapshot serving;
- jwks_url: keys fetched from tests/tools/jwks_server.py, a rotation
  picked up by an unknown-kid fetch, a removal by the next refresh,
  last-known-good kept through 500s, garbage, a huge or slow body and the
  server going away, and a restart during the outage served from the cache
  file;
- reload under load: valid tokens never see a non-200 while the agent
  reloads 50 times and an IdP key comes and goes, and a token whose key is
  gone is never accepted once the removal has been observed.

Every wait polls an observable result with a bound; nothing sleeps to
synchronise.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import harness

sys.path.insert(0, os.path.join(harness.ROOT, "tests", "tools"))
import jwks_server  # noqa: E402  (tests/tools/jwks_server.py)

TTL = 30
LEEWAY = 1


def b64d(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def seal_kid(seal):
    return json.loads(b64d(seal.split(".")[0]))["kid"]


def seal_mac_ok(seal, jwk):
    """HS256 over the seal's signing input with the JWK's secret."""
    head, body, sig = seal.split(".")
    key = b64d(jwk["k"])
    want = hmac.new(key, (head + "." + body).encode(), hashlib.sha256)
    return hmac.compare_digest(want.digest(), b64d(sig))


def write_atomic(path, text, mode=0o600):
    """What deployment tools do: a new file renamed over the old one."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def jwks_text(jwks):
    return json.dumps({"keys": list(jwks.values())})


def new_seal_key(kid):
    return {"kty": "oct", "kid": kid, "alg": "HS256",
            "k": harness.b64url(os.urandom(32))}


class Rotation(harness.StackTest):

    def start(self, users=True):
        st = self.stack
        st.start_upstream()
        st.start_real_agent(ttl=TTL)
        st.start_haproxy()
        self.conf = os.path.join(st.dir, "agent.conf")
        if users:
            self.users_port = harness.free_port()
            st.start_service("users", [
                harness.require("EDGESEAL_E2E_USERS"),
                "--listen", "127.0.0.1:%d" % self.users_port,
                "--keyset", st.keyset, "--leeway", str(LEEWAY)],
                self.users_port)

    def reloads(self):
        return self.stack.agent.log().count("event=reload ")

    def wait_reloads(self, more_than, what):
        harness.poll(lambda: self.reloads() > more_than, 10.0, what)

    def seal(self, sub="alice", kid="rs1"):
        """A seal for a fresh token (a new token never hits the cache)."""
        tok = self.stack.idp.token(sub=sub, kid=kid)
        r = self.stack.get("/api/me", [("Authorization", "Bearer " + tok)])
        self.assertEqual(r.status, 200, r.body)
        h = {k.lower(): v for k, v in r.json()["headers"]}
        return h["x-edge-seal"]

    def users(self, seal, sub="alice"):
        return harness.request(self.users_port, "/users/me", [
            ("X-User-Id", sub), ("X-Internal-Call", "true"),
            ("X-Edge-Seal", seal)])

    def set_signing_kid(self, kid):
        with open(self.conf) as f:
            text = f.read()
        lines = ["signing_kid = %s" % kid
                 if line.startswith("signing_kid") else line
                 for line in text.splitlines()]
        write_atomic(self.conf, "\n".join(lines) + "\n", 0o644)

    # ------------------------------------------------------------------

    def test_seal_rotation(self):
        self.start()
        st = self.stack
        with open(st.keyset) as f:
            keys = {k["kid"]: k for k in json.load(f)["keys"]}
        old = self.seal()
        self.assertEqual(seal_kid(old), "k1")

        # 1. Add k2 everywhere. The agent sees the file change; the users
        # service notices at its next request. Still signing with k1.
        keys["k2"] = new_seal_key("k2")
        n = self.reloads()
        write_atomic(st.keyset, jwks_text(keys))
        self.wait_reloads(n, "reload after adding k2")
        self.assertEqual(seal_kid(self.seal()), "k1")

        # A seal made with k2 by hand verifies at users already.
        cli = harness.require("EDGESEAL_E2E_CLI")
        p = subprocess.run([cli, "mint", "--keyset", st.keyset, "--kid",
                            "k2", "--sub", "alice", "--ttl", "30"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.users(p.stdout.strip()).status, 200)

        # 2. Switch the signing kid, by SIGHUP this time.
        n = self.reloads()
        self.set_signing_kid("k2")
        st.agent.signal(signal.SIGHUP)
        self.wait_reloads(n, "reload after switching to k2")
        new = harness.poll(lambda: (lambda s: s if seal_kid(s) == "k2"
                                    else None)(self.seal()),
                           10.0, "seals signed with k2")
        self.assertTrue(seal_mac_ok(new, keys["k2"]))
        self.assertEqual(self.users(new).status, 200)

        # Seals minted before the switch verify until their TTL.
        r = self.users(old)
        self.assertEqual(r.status, 200, r.body)

        # 3. Remove k1 everywhere: old seals are refused, new ones pass.
        del keys["k1"]
        n = self.reloads()
        write_atomic(st.keyset, jwks_text(keys))
        self.wait_reloads(n, "reload after removing k1")
        r = self.users(old)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"], "unknown_kid")
        self.assertEqual(self.users(self.seal()).status, 200)

    def test_broken_file_keeps_serving(self):
        self.start(users=False)
        st = self.stack
        with open(st.keyset) as f:
            good = f.read()

        n = st.agent.log().count("event=reload_failed")
        write_atomic(st.keyset, "{ not json")
        harness.poll(lambda: st.agent.log().count("event=reload_failed")
                     > n, 10.0, "reload_failed logged")
        log = st.agent.log()
        self.assertRegex(log, r"event=reload_failed .*agent\.conf:\d+: ")
        self.assertIn("keeping previous configuration", log)
        self.assertEqual(seal_kid(self.seal()), "k1")

        # A broken configuration line says file:line too.
        n = st.agent.log().count("event=reload_failed")
        with open(self.conf) as f:
            conf = f.read()
        write_atomic(self.conf, conf + "\n[cache]\nentries = many\n",
                     0o644)
        harness.poll(lambda: st.agent.log().count("event=reload_failed")
                     > n, 10.0, "second reload_failed")
        self.assertRegex(st.agent.log(), r"agent\.conf:\d+: ")
        self.assertEqual(seal_kid(self.seal()), "k1")

        # Fixing both brings reloads back.
        write_atomic(self.conf, conf, 0o644)
        n = self.reloads()
        write_atomic(st.keyset, good)
        self.wait_reloads(n, "reload after the fix")

    def test_kubernetes_symlink_swap(self):
        """A secret volume: seal.jwks -> ..data/seal.jwks, ..data -> a
        timestamped directory; an update renames a new ..data over the
        old one and never touches seal.jwks itself."""
        st = self.stack
        vol = os.path.join(st.dir, "secret")
        os.mkdir(vol)

        def publish(version, jwks):
            d = os.path.join(vol, "..%d" % version)
            os.mkdir(d)
            write_atomic(os.path.join(d, "seal.jwks"), jwks_text(jwks))
            tmp = os.path.join(vol, "..data_tmp")
            os.symlink("..%d" % version, tmp)
            os.rename(tmp, os.path.join(vol, "..data"))

        v1 = {"k1": new_seal_key("k1")}
        publish(1, v1)
        os.symlink("..data/seal.jwks", os.path.join(vol, "seal.jwks"))
        st.keyset = os.path.join(vol, "seal.jwks")
        self.start(users=False)
        self.assertTrue(seal_mac_ok(self.seal(), v1["k1"]))

        # Same kid, new secret: only a reload makes the agent use it.
        v2 = {"k1": new_seal_key("k1")}
        n = self.reloads()
        publish(2, v2)
        self.wait_reloads(n, "reload after the ..data swap")
        seal = self.seal()
        self.assertTrue(seal_mac_ok(seal, v2["k1"]))
        self.assertFalse(seal_mac_ok(seal, v1["k1"]))
        self.assertIn("event=file_changed", st.agent.log())

    def test_symlink_target_folder_watched(self):
        """jwks_file and the seal key set are links into other folders;
        replacing a target there (temp file + rename) reloads."""
        st = self.stack
        conf_dir = os.path.join(st.dir, "conf")
        store = os.path.join(st.dir, "store")
        os.mkdir(conf_dir)
        os.mkdir(store)
        with open(harness.Idp.shared().jwks_path) as f:
            keys = json.load(f)["keys"]
        write_atomic(os.path.join(store, "jwks.json"),
                     json.dumps({"keys": keys}))
        link = os.path.join(conf_dir, "jwks.json")
        os.symlink(os.path.join(store, "jwks.json"), link)
        v1 = {"k1": new_seal_key("k1")}
        write_atomic(os.path.join(store, "seal.jwks"), jwks_text(v1))
        st.keyset = os.path.join(conf_dir, "seal.jwks")
        os.symlink(os.path.join(store, "seal.jwks"), st.keyset)

        st.start_upstream()
        st.start_real_agent(ttl=TTL, edit=lambda t: t.replace(
            harness.Idp.shared().jwks_path, link))
        st.start_haproxy()
        self.assertTrue(seal_mac_ok(self.seal(kid="es1"), v1["k1"]))

        n = self.reloads()
        rs1 = [k for k in keys if k["kid"] == "rs1"]
        write_atomic(os.path.join(store, "jwks.json"),
                     json.dumps({"keys": rs1}))
        self.wait_reloads(n, "reload after the jwks target changed")
        tok = st.idp.token(sub="carol", kid="es1")
        r = st.get("/api/me", [("Authorization", "Bearer " + tok)])
        self.assertEqual(r.status, 401)

        n = self.reloads()
        v2 = {"k1": new_seal_key("k1")}
        write_atomic(os.path.join(store, "seal.jwks"), jwks_text(v2))
        self.wait_reloads(n, "reload after the key set target changed")
        self.assertTrue(seal_mac_ok(self.seal(), v2["k1"]))

    def test_reload_under_load(self):
        """50 reloads while es1 is removed from and put back into the
        issuer's JWKS; rs1 tokens flow the whole time."""
        self.start(users=False)
        st = self.stack
        with open(st.idp.jwks_path) as f:
            full = json.load(f)
        without = {"keys": [k for k in full["keys"] if k["kid"] != "es1"]}
        jwks = os.path.join(st.dir, "idp.jwks")
        write_atomic(jwks, json.dumps(full))
        with open(self.conf) as f:
            conf = f.read().replace(st.idp.jwks_path, jwks)
        n = self.reloads()
        write_atomic(self.conf, conf, 0o644)
        self.wait_reloads(n, "reload onto the rotating JWKS")

        tokens = [st.idp.token(sub="user%d" % i) for i in range(8)]
        es1 = st.idp.token(sub="es-user", kid="es1")
        stop = threading.Event()
        bad = []
        sent = [0]

        def load(worker):
            i = worker
            while not stop.is_set():
                tok = tokens[i % len(tokens)]
                i += 1
                r = st.get("/api/x", [("Authorization", "Bearer " + tok)])
                sent[0] += 1
                if r.status != 200:
                    bad.append((r.status, r.header("WWW-Authenticate")))

        threads = [threading.Thread(target=load, args=(w,))
                   for w in range(4)]
        for t in threads:
            t.start()
        accepted_removed = 0
        start = time.monotonic()
        try:
            for cycle in range(50):
                has_es1 = cycle % 2 == 1
                write_atomic(jwks, json.dumps(full if has_es1 else without))
                st.agent.signal(signal.SIGHUP)
                want = 200 if has_es1 else 401
                harness.poll(lambda: st.get("/api/x", [(
                    "Authorization", "Bearer " + es1)]).status == want,
                    10.0, "es1 %s in cycle %d" % (want, cycle))
                if not has_es1:
                    # Removal observed: from now on es1 must stay refused.
                    for _ in range(3):
                        r = st.get("/api/x",
                                   [("Authorization", "Bearer " + es1)])
                        accepted_removed += r.status == 200
        finally:
            stop.set()
            for t in threads:
                t.join(10)
        elapsed = time.monotonic() - start

        self.assertEqual(bad, [])
        self.assertEqual(accepted_removed, 0)
        self.assertGreaterEqual(self.reloads(), 50)
        self.assertGreater(sent[0], 50)
        self.assertLess(elapsed, 60)
        print("reload under load: %d requests, %d reloads, %.1fs" %
              (sent[0], self.reloads(), elapsed))


class JwksUrl(harness.StackTest):
    """The agent's issuer keys come from a JWKS URL."""

    def setUp(self):
        super().setUp()
        self.srv = jwks_server.JwksServer(slow_delay=8.0)
        self.addCleanup(self.srv.stop)
        idp = harness.Idp.shared()
        with open(idp.jwks_path) as f:
            self.jwk = {k["kid"]: k for k in json.load(f)["keys"]}
        self.cache = os.path.join(self.stack.dir, "jwks-cache.json")
        self.metrics_port = harness.free_port()

    def fetches(self, result):
        """edgeseal_jwks_fetches_total for issuer "test" and one result."""
        url = "http://127.0.0.1:%d/metrics" % self.metrics_port
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
        m = re.search(r'^edgeseal_jwks_fetches_total\{issuer="test",'
                      r'result="%s"\} (\d+)$' % result, text, re.M)
        return int(m.group(1)) if m else 0

    def edit(self, text, max_stale=3600, refresh=(1, 2)):
        text = text.replace("[agent]\n", "[agent]\nmetrics = 127.0.0.1:%d\n"
                            % self.metrics_port, 1)
        return text.replace(
            "jwks_file = %s" % harness.Idp.shared().jwks_path,
            "jwks_url = %s\njwks_cache_file = %s\njwks_refresh_min = %d\n"
            "jwks_refresh_max = %d\njwks_max_stale = %d" %
            (self.srv.url, self.cache, refresh[0], refresh[1], max_stale))

    def status(self, kid):
        tok = self.stack.idp.token(sub="u-" + kid, kid=kid)
        return self.stack.get("/api/x",
                              [("Authorization", "Bearer " + tok)]).status

    def failures(self):
        return self.stack.agent.log().count("event=jwks_fetch_failed")

    def test_fetch_rotate_outage_restart(self):
        st = self.stack
        self.srv.set_keys([self.jwk["rs1"]], max_age=1)
        st.start_upstream()
        st.start_real_agent(edit=self.edit)
        st.start_haproxy()
        self.assertEqual(self.status("rs1"), 200)
        self.assertEqual(os.stat(self.cache).st_mode & 0o777, 0o600)

        # The IdP adds es1: the first es1 token is refused (unknown_kid)
        # and pokes a fetch; a token shortly after passes.
        self.srv.set_keys([self.jwk["rs1"], self.jwk["es1"]], max_age=1)
        harness.poll(lambda: self.status("es1") == 200, 10.0,
                     "es1 accepted after the rotation")

        # The IdP drops es1: gone after the next refresh.
        self.srv.set_keys([self.jwk["rs1"]], max_age=1)
        harness.poll(lambda: self.status("es1") == 401, 10.0,
                     "es1 refused after its removal")
        self.srv.set_keys([self.jwk["rs1"], self.jwk["es1"]], max_age=1)
        harness.poll(lambda: self.status("es1") == 200, 10.0,
                     "es1 back")

        # Outages of every kind: last-known-good keys keep validating.
        for mode in ("500", "garbage", "empty", "huge", "slow"):
            n = self.failures()
            self.srv.set_mode(mode)
            harness.poll(lambda: self.failures() > n, 20.0,
                         "a failed fetch in mode %s" % mode)
            self.assertEqual(self.status("rs1"), 200, mode)
            self.assertEqual(self.status("es1"), 200, mode)
        log = st.agent.log()
        self.assertIn("HTTP status 500", log)
        # Each outcome is counted where operators look (metrics).
        self.assertGreater(self.fetches("ok"), 0)
        self.assertGreater(self.fetches("http_error"), 0)
        self.assertGreater(self.fetches("invalid"), 0)
        self.assertGreater(self.fetches("network_error"), 0)
        self.assertRegex(log, r"event=jwks_fetch_failed .*[Tt]imeout")

        # The IdP goes away, then the agent restarts during the outage.
        self.srv.stop()
        n = self.failures()
        harness.poll(lambda: self.failures() > n, 20.0,
                     "a failed fetch with the server gone")
        self.assertEqual(self.status("rs1"), 200)
        st.agent.stop()
        st.restart_real_agent(edit=self.edit)
        harness.poll(lambda: self.status("rs1") == 200, 10.0,
                     "restarted agent validating from the cache")
        self.assertIn("event=jwks_cache_loaded", st.agent.log())
        self.assertEqual(self.status("es1"), 200)

    def test_first_start_outage_and_max_stale(self):
        """No key and no cache at start: the agent runs and refuses until
        the IdP answers; keys older than jwks_max_stale stop being used."""
        st = self.stack
        self.srv.set_keys([self.jwk["rs1"]], max_age=1)
        self.srv.set_mode("500")
        st.start_upstream()
        st.start_real_agent(edit=lambda t: self.edit(t, max_stale=3))
        st.start_haproxy()
        tok = st.idp.token(sub="alice")
        r = st.get("/api/x", [("Authorization", "Bearer " + tok)])
        self.assertEqual(r.status, 401)
        self.assertIn("unknown_kid", r.header("WWW-Authenticate"))

        self.srv.set_mode("ok")
        harness.poll(lambda: self.status("rs1") == 200, 10.0,
                     "keys once the IdP answers")

        self.srv.set_mode("500")
        harness.poll(lambda: self.status("rs1") == 401, 15.0,
                     "keys dropped past jwks_max_stale")
        self.assertIn("event=jwks_stale", st.agent.log())

    def test_unknown_kid_flood(self):
        """Made-up kids cost one fetch per jwks_refresh_min, not one per
        token, and each of those tokens is refused."""
        st = self.stack
        self.srv.set_keys([self.jwk["rs1"]])
        st.start_upstream()
        st.start_real_agent(edit=lambda t: self.edit(t, refresh=(30, 60)))
        st.start_haproxy()
        self.assertEqual(self.status("rs1"), 200)
        before = self.srv.hit_count()

        statuses = [st.get("/api/x", [("Authorization", "Bearer " +
                                       st.idp.token(kid="made-up-%d" % i))])
                    .status for i in range(40)]
        self.assertEqual(set(statuses), {401})
        harness.poll(lambda: self.srv.hit_count() == before + 1, 10.0,
                     "one fetch for the unknown kids")
        statuses = [st.get("/api/x", [("Authorization", "Bearer " +
                                       st.idp.token(kid="other-%d" % i))])
                    .status for i in range(40)]
        self.assertEqual(set(statuses), {401})
        self.assertEqual(self.srv.hit_count(), before + 1)

    def test_cache_bound_to_issuer_and_url(self):
        """A cache file is only loaded for the issuer section and jwks_url
        that wrote it: after the URL changes (to an IdP that is down) the
        old IdP's keys are not served."""
        st = self.stack
        self.srv.set_keys([self.jwk["rs1"]], max_age=1)
        st.start_upstream()
        st.start_real_agent(edit=self.edit)
        st.start_haproxy()
        self.assertEqual(self.status("rs1"), 200)
        with open(self.cache) as f:
            wrapped = json.load(f)
        self.assertEqual(wrapped["edgeseal_jwks_cache"], 1)
        self.assertEqual(wrapped["issuer"], "test")
        self.assertEqual([k["kid"] for k in wrapped["jwks"]["keys"]],
                         ["rs1"])

        # Same cache path, another URL whose server answers 500.
        other = jwks_server.JwksServer()
        self.addCleanup(other.stop)
        other.set_mode("500")
        st.agent.stop()
        st.restart_real_agent(edit=lambda t: self.edit(t).replace(
            self.srv.url, other.url))
        self.assertEqual(self.status("rs1"), 401)
        self.assertIn("event=jwks_cache_refused", st.agent.log())
        self.assertNotIn("event=jwks_cache_loaded", st.agent.log())

        # Its own URL (down too) still starts from the cache.
        self.srv.set_mode("500")
        st.agent.stop()
        st.restart_real_agent(name="agent3", edit=self.edit)
        self.assertEqual(self.status("rs1"), 200)
        self.assertIn("event=jwks_cache_loaded", st.agent.log())

    def test_shared_cache_file_refused(self):
        st = self.stack
        spoa = harness.require("EDGESEAL_E2E_SPOA")
        conf = os.path.join(st.dir, "shared.conf")
        text = self.edit(st.agent_config("unix:" + os.path.join(
            st.dir, "x.sock"))).replace(
            "[seal]\n", "[issuer b]\nissuer = https://b.test/\n"
            "subject_prefix = b:\n"
            "jwks_url = %s\njwks_cache_file = %s\n\n[seal]\n" %
            (self.srv.url, self.cache), 1)
        with open(conf, "w") as f:
            f.write(text)
        p = subprocess.run([spoa, "-t", "-f", conf], capture_output=True,
                           text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("each issuer needs its own", p.stderr)

    def test_shared_url_keeps_each_issuers_limits(self):
        """Two issuers on one jwks_url: the first's jwks_max_stale = 3 is
        not replaced by the second's 0 (no limit)."""
        st = self.stack
        lax_iss = "https://tenant2.test/"
        self.srv.set_keys([self.jwk["rs1"]], max_age=1)

        def edit(text):
            return self.edit(text, max_stale=3).replace(
                "[seal]\n", "[issuer lax]\nissuer = %s\naudiences = %s\n"
                "subject_prefix = lax:\n"
                "jwks_url = %s\njwks_refresh_min = 1\n"
                "jwks_refresh_max = 2\njwks_max_stale = 0\n\n[seal]\n" %
                (lax_iss, harness.Idp.AUD, self.srv.url), 1)

        def lax_status():
            tok = st.idp.token(sub="bob", iss=lax_iss)
            return st.get("/api/x", [("Authorization", "Bearer " + tok)]
                          ).status

        st.start_upstream()
        st.start_real_agent(edit=edit)
        st.start_haproxy()
        self.assertEqual(self.status("rs1"), 200)
        self.assertEqual(lax_status(), 200)

        self.srv.set_mode("500")
        harness.poll(lambda: self.status("rs1") == 401, 15.0,
                     "strict issuer's keys dropped past jwks_max_stale")
        self.assertIn("event=jwks_stale", st.agent.log())
        self.assertEqual(lax_status(), 200)

    def test_cache_tmp_fifo_does_not_block(self):
        """A FIFO planted at the cache's temporary name neither blocks the
        fetcher (holding the lock workers need) nor stops cache updates."""
        st = self.stack
        shared = os.path.join(st.dir, "shared")
        os.mkdir(shared)
        self.cache = os.path.join(shared, "cache.json")
        self.srv.set_keys([self.jwk["rs1"], self.jwk["es1"]], max_age=1)
        st.start_upstream()
        st.start_real_agent(edit=self.edit)
        st.start_haproxy()
        self.assertEqual(self.status("rs1"), 200)

        os.mkfifo(self.cache + ".tmp", 0o600)
        self.addCleanup(self.unblock_fifo, self.cache + ".tmp")
        self.srv.set_keys([self.jwk["rs1"]], max_age=1)

        def cached_kids():
            with open(self.cache) as f:
                return [k["kid"] for k in json.load(f)["jwks"]["keys"]]
        harness.poll(lambda: cached_kids() == ["rs1"], 15.0,
                     "the cache rewritten past the FIFO")
        self.assertEqual(self.status("made-up"), 401)
        self.assertEqual(self.status("rs1"), 200)

    @staticmethod
    def unblock_fifo(path):
        """Let a writer stuck on the FIFO go, so the agent can stop."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass

    def test_url_credentials_not_logged(self):
        st = self.stack
        self.srv.set_mode("500")
        url = self.srv.url.replace("http://", "http://svc:S3CRETPASS@") + \
            "?access_token=S3CRETTOKEN"
        st.start_upstream()
        st.start_real_agent(edit=lambda t: self.edit(t).replace(
            self.srv.url, url))
        n = self.failures()
        harness.poll(lambda: self.failures() > n, 10.0, "a failed fetch")
        log = st.agent.log()
        self.assertIn("url=http://127.0.0.1:", log)
        self.assertNotIn("S3CRET", log)

    def test_unsupported_scheme(self):
        st = self.stack
        spoa = harness.require("EDGESEAL_E2E_SPOA")
        conf = os.path.join(st.dir, "ftp.conf")
        text = self.edit(st.agent_config("unix:" + os.path.join(
            st.dir, "x.sock"))).replace(self.srv.url, "ftp://idp.test/k")
        with open(conf, "w") as f:
            f.write(text)
        p = subprocess.run([spoa, "-t", "-f", conf], capture_output=True,
                           text=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr, r"ftp\.conf:\d+: .*ftp://")


if __name__ == "__main__":
    harness.main()
