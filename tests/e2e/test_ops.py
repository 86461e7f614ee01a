"""Operating the real agent: Prometheus metrics scraped while requests pass
through HAProxy, decision log lines, rate-limited warnings, `-t` on good
and broken files, unsafe key files refused, and `user` dropping root.

Metrics are compared as deltas between two scrapes around a known set of
requests, so a test fails when a counter does not move or moves wrongly.
"""
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

import harness
from harness import poll

sys.path.insert(0, os.path.join(harness.ROOT, "tests", "attack"))
import spopwire  # noqa: E402

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
HEX8 = re.compile(r"^[0-9a-f]{8}$")


def parse_metrics(text):
    """Prometheus text -> {(name, frozenset(labels)): float}; every
    non-comment line must parse, and each family needs HELP and TYPE."""
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "unparsable metrics line: %r" % line
        name, labels, value = m.groups()
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or base in typed, "no TYPE for " + name
        key = (name, frozenset(LABEL.findall(labels or "")))
        assert key not in samples, "duplicate series " + line
        samples[key] = float(value)
    return samples


def val(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


class Agent:
    """A real edgeseal-spoa with a metrics listener, on a UNIX socket."""

    def __init__(self, stack, name="agent", extra=(), log_format=None):
        self.stack = stack
        self.port = harness.free_port()
        self.sock = os.path.join(stack.dir, name + ".sock")
        self.conf = os.path.join(stack.dir, name + ".conf")
        text = stack.agent_config("unix:" + self.sock)
        agent_lines = ["metrics = 127.0.0.1:%d" % self.port]
        if log_format:
            agent_lines.append("log_format = %s" % log_format)
        agent_lines += list(extra)
        text = text.replace("log_level = debug", "log_level = info")
        text = text.replace("[agent]\n", "[agent]\n" +
                            "\n".join(agent_lines) + "\n", 1)
        self.text = text
        with open(self.conf, "w") as f:
            f.write(text)
        self.name = name

    def start(self):
        spoa = harness.require("EDGESEAL_E2E_SPOA")
        self.proc = harness.Proc(self.name, [spoa, "-d", "-f", self.conf],
                                 self.stack.dir)
        self.stack.procs.append(self.proc)
        self.stack.agent, self.stack.agent_addr = self.proc, \
            "unix@" + self.sock
        poll(lambda: self.ready() or not self.proc.alive(), 15.0,
             "agent and metrics listening")
        if not self.proc.alive():
            raise AssertionError("agent exited:\n" + self.proc.log())
        return self

    def ready(self):
        """Serving: sockets are bound before the privilege drop and the
        key loading, so the "started" line is what says it is done."""
        log = self.proc.log()
        return ("event=started" in log or '"event":"started"' in log) and \
            harness.Stack._can_connect(self.port)

    def http(self, path="/metrics", method="GET"):
        req = urllib.request.Request("http://127.0.0.1:%d%s" %
                                     (self.port, path), method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def scrape(self):
        status, headers, body = self.http()
        assert status == 200, status
        assert headers["Content-Type"].startswith("text/plain"), headers
        return parse_metrics(body)

    def decisions(self):
        return [line for line in self.proc.log().splitlines()
                if "event=decision" in line or '"event":"decision"' in line]


def spop_session(sock_path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sock_path)
    s.sendall(spopwire.hello())
    r = spopwire.Reader(s)
    assert r.frame().type == spopwire.AGENT_HELLO
    return s, r


def oversized_frame(sock_path):
    """A frame length past any max-frame-size: the agent answers with
    DISCONNECT status 3 and closes."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(sock_path)
        s.sendall(struct.pack(">I", 0x7fffffff))
        while s.recv(4096):
            pass


class Metrics(harness.StackTest):

    def test_counters_follow_requests_through_haproxy(self):
        st = self.stack
        st.start_upstream()
        agent = Agent(st).start()
        st.start_haproxy()
        idp = st.idp
        good = idp.token(sub="alice")
        rogue = idp.token(sub="mallory", rogue=True)
        expired = idp.token(sub="bob", exp_offset=-100)
        before = agent.scrape()
        logged_before = len(agent.decisions())

        # Two passes of one token (the second a cache hit), two refusals.
        for tok, want in ((good, 200), (good, 200), (rogue, 401),
                          (expired, 401)):
            r = st.get(headers=[("Authorization", "Bearer " + tok)])
            self.assertEqual(r.status, want, r.body)
        after = agent.scrape()

        def delta(name, **labels):
            return val(after, name, **labels) - val(before, name, **labels)

        dec = "edgeseal_decisions_total"
        self.assertEqual(delta(dec, result="allow", reason="ok"), 2)
        self.assertEqual(delta(dec, result="deny", reason="bad_signature"),
                         1)
        self.assertEqual(delta(dec, result="deny", reason="expired"), 1)
        by_iss = "edgeseal_issuer_decisions_total"
        self.assertEqual(delta(by_iss, issuer="test", kid="rs1",
                               result="allow"), 2)
        self.assertEqual(delta(by_iss, issuer="test", kid="rs1",
                               result="deny"), 2)
        self.assertEqual(delta("edgeseal_cache_lookups_total",
                               result="hit"), 1)
        self.assertEqual(delta("edgeseal_cache_lookups_total",
                               result="miss"), 3)
        self.assertEqual(val(after, "edgeseal_cache_capacity_entries"),
                         1000)
        self.assertEqual(delta("edgeseal_seals_minted_total", kid="k1"), 1)
        self.assertEqual(delta("edgeseal_spop_frames_received_total",
                               type="notify"), 4)
        self.assertGreaterEqual(
            val(after, "edgeseal_spop_connections_total"), 1)
        self.assertGreaterEqual(
            val(after, "edgeseal_spop_connections_open"), 1)

        self.check_histogram(before, after,
                             "edgeseal_validation_duration_seconds", 4)
        self.check_histogram(before, after, "edgeseal_clock_skew_seconds",
                             1)
        # The IdP issued the token 5 s ago: skew lands in (2, 10].
        skew = "edgeseal_clock_skew_seconds_bucket"
        self.assertEqual(delta(skew, le="2"), 0)
        self.assertEqual(delta(skew, le="10"), 1)

        self.check_decision_lines(agent, logged_before,
                                  [good, good, rogue, expired])

    def check_histogram(self, before, after, name, moved):
        buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in
                          after.items() if k[0] == name + "_bucket"))
        counts = [v for _, v in buckets]
        self.assertEqual(counts, sorted(counts), name + " not cumulative")
        self.assertEqual(buckets[-1][0], float("inf"))
        self.assertEqual(buckets[-1][1], val(after, name + "_count"))
        self.assertEqual(val(after, name + "_count") -
                         val(before, name + "_count"), moved)

    def check_decision_lines(self, agent, start, tokens):
        lines = agent.decisions()[start:]
        self.assertEqual(len(lines), len(tokens), "\n".join(lines))
        log = agent.proc.log()
        for line, tok in zip(lines, tokens):
            fields = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))
            fp = hashlib.sha256(tok.encode()).hexdigest()[:8]
            self.assertEqual(fields.get("token_fp"), fp, line)
            self.assertRegex(fields.get("us", ""), r"^\d+$", line)
            self.assertEqual(fields.get("iss"), harness.Idp.ISS, line)
            self.assertEqual(fields.get("kid"), "rs1", line)
            if fields["result"] == "deny":
                self.assertIn(fields.get("reason"), ("bad_signature",
                                                     "expired"), line)
        # No token, nor any of its three segments, is ever written.
        for tok in set(tokens):
            for part in [tok] + tok.split("."):
                self.assertNotIn(part, log)

    def test_reloads_disconnects_and_http_surface(self):
        st = self.stack
        agent = Agent(st).start()
        m0 = agent.scrape()
        self.assertEqual(val(m0, "edgeseal_config_generation"), 1)

        agent.proc.signal(signal.SIGHUP)
        poll(lambda: val(agent.scrape(), "edgeseal_reloads_total",
                         result="ok") == 1, 15.0, "reload counted")
        with open(agent.conf, "w") as f:
            f.write(agent.text + "\nbogus_key = 1\n")
        agent.proc.signal(signal.SIGHUP)
        poll(lambda: val(agent.scrape(), "edgeseal_reloads_total",
                         result="failed") == 1, 15.0, "failed reload counted")
        m1 = agent.scrape()
        self.assertEqual(val(m1, "edgeseal_config_generation"), 2)
        self.assertEqual(val(m1, "edgeseal_reloads_total", result="ok"), 1)

        # Status 3 sent for an oversized frame; status 0 received back.
        oversized_frame(agent.sock)
        s, r = spop_session(agent.sock)
        s.sendall(spopwire.disconnect(0, "bye"))
        self.assertEqual(r.frame().type, spopwire.AGENT_DISCONNECT)
        s.close()
        m2 = agent.scrape()
        disc = "edgeseal_spop_disconnects_total"
        self.assertEqual(val(m2, disc, direction="sent", status="3") -
                         val(m1, disc, direction="sent", status="3"), 1)
        self.assertEqual(val(m2, disc, direction="received", status="0") -
                         val(m1, disc, direction="received", status="0"), 1)
        self.assertEqual(val(m2, "edgeseal_spop_frames_received_total",
                             type="haproxy_hello") -
                         val(m1, "edgeseal_spop_frames_received_total",
                             type="haproxy_hello"), 1)

        self.assertEqual(agent.http("/")[0], 404)
        self.assertEqual(agent.http("/metrics", method="POST")[0], 405)

    def test_idle_connections_do_not_starve_scrapes(self):
        """40 idle connections (no byte sent) once took every slot of the
        metrics listener; now scrapes still answer and idle connections
        are dropped after a few seconds."""
        agent = Agent(self.stack).start()
        idle = []
        self.addCleanup(lambda: [s.close() for s in idle])
        for _ in range(40):
            idle.append(socket.create_connection(("127.0.0.1", agent.port),
                                                 5))
        self.assertEqual(agent.http()[0], 200)

        # The server closes an idle connection: recv sees end of file.
        idle[0].settimeout(15)
        started = time.monotonic()
        self.assertEqual(idle[0].recv(1), b"")
        self.assertLess(time.monotonic() - started, 10)


class Logs(harness.StackTest):

    def test_json_decision_line(self):
        st = self.stack
        agent = Agent(st, log_format="json").start()
        tok = st.idp.token(sub="carol", aud="other")
        s, r = spop_session(agent.sock)
        s.sendall(spopwire.notify(1, 1, "Bearer " + tok))
        self.assertEqual(r.frame().type, spopwire.ACK)
        s.close()
        lines = [json.loads(line) for line in agent.proc.log().splitlines()
                 if line.startswith("{")]
        dec = [d for d in lines if d["event"] == "decision"]
        self.assertEqual(len(dec), 1, lines)
        d = dec[0]
        self.assertEqual(d["result"], "deny")
        self.assertEqual(d["reason"], "bad_audience")
        self.assertEqual(d["iss"], harness.Idp.ISS)
        self.assertEqual(d["kid"], "rs1")
        self.assertRegex(d["token_fp"], HEX8)
        self.assertIsInstance(d["us"], int)
        for part in tok.split("."):
            self.assertNotIn(part, agent.proc.log())

    def test_repeated_warnings_are_rate_limited(self):
        st = self.stack
        agent = Agent(st).start()
        sent = 60
        for _ in range(sent):
            oversized_frame(agent.sock)

        def tally():
            lines = [ln for ln in agent.proc.log().splitlines()
                     if "event=disconnect_sent" in ln]
            shown = [ln for ln in lines if "suppressed=" not in ln]
            held = sum(int(re.search(r"suppressed=(\d+)", ln).group(1))
                       for ln in lines if "suppressed=" in ln)
            return shown, held

        # Every refusal is either shown or counted in a summary line,
        # which the agent writes within about a second.
        poll(lambda: sum(map(len, [tally()[0]])) + tally()[1] == sent,
             15.0, "every warning shown or counted")
        shown, held = tally()
        self.assertGreater(held, 0)
        self.assertLess(len(shown), sent)
        for ln in shown:
            self.assertIn('msg="frame too big"', ln)


class Check(harness.StackTest):
    """`edgeseal-spoa -t` and key file permissions."""

    def run_t(self, conf):
        spoa = harness.require("EDGESEAL_E2E_SPOA")
        return subprocess.run([spoa, "-t", "-f", conf], capture_output=True,
                              text=True, timeout=60)

    def write(self, name, text):
        path = os.path.join(self.stack.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_good_file_prints_what_was_loaded(self):
        agent = Agent(self.stack)
        r = self.run_t(agent.conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.splitlines()
        self.assertEqual(out[0], agent.conf + ": configuration OK")
        self.assertIn("listen unix:" + agent.sock, out)
        self.assertIn("metrics 127.0.0.1:%d" % agent.port, out)
        self.assertTrue(any(re.match(r"issuer test: [1-9]\d* keys$", ln)
                            for ln in out), out)
        self.assertTrue(any(ln.startswith("seal: 1 keys, signing kid k1")
                            for ln in out), out)

    def test_broken_files_say_file_and_line(self):
        agent = Agent(self.stack)
        lines = agent.text.splitlines()
        bad_key = self.write("bad.conf", "\n".join(
            lines[:2] + ["thread = 2"] + lines[2:]))
        r = self.run_t(bad_key)
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"^%s:3: " % re.escape(bad_key))

        missing = agent.text.replace(self.stack.idp.jwks_path,
                                     "/nonexistent/jwks.json")
        path = self.write("missing.conf", missing)
        line = missing.splitlines().index(
            "jwks_file = /nonexistent/jwks.json") + 1
        r = self.run_t(path)
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"^%s:%d: .*/nonexistent/jwks.json" %
                         (re.escape(path), line))

    def test_unsafe_key_files_are_refused(self):
        st = self.stack
        agent = Agent(st)
        os.chmod(st.keyset, 0o644)
        r = self.run_t(agent.conf)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(st.keyset, r.stderr)
        self.assertIn("group or others", r.stderr)

        # The agent itself refuses to start on it, with the same reason.
        spoa = harness.require("EDGESEAL_E2E_SPOA")
        p = subprocess.run([spoa, "-d", "-f", agent.conf],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("group or others", p.stderr)
        os.chmod(st.keyset, 0o600)

        # An issuer's HMAC secret gets the same treatment.
        secret = os.path.join(st.dir, "hs1.key")
        with open(secret, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(secret, 0o640)
        hs = agent.text.replace(
            "algorithms = RS256 ES256",
            "algorithms = RS256 ES256 HS256\nhmac_key = hs1 HS256 " + secret)
        r = self.run_t(self.write("hs.conf", hs))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(secret, r.stderr)
        self.assertIn("group or others", r.stderr)
        os.chmod(secret, 0o600)
        r = self.run_t(self.write("hs-ok.conf", hs))
        self.assertEqual(r.returncode, 0, r.stderr)


class Privileges(harness.StackTest):

    def test_user_drops_root_after_binding(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to drop privileges")
        nobody = pwd.getpwnam("nobody")
        st = self.stack
        agent = Agent(st, extra=["user = nobody"])

        # What the agent reads after the drop (on every reload) must be
        # readable by nobody; secrets must be owned by nobody.
        os.chmod(st.dir, 0o711)
        jwks = os.path.join(st.dir, "jwks.json")
        shutil.copy(st.idp.jwks_path, jwks)
        os.chmod(jwks, 0o644)
        os.chown(st.keyset, nobody.pw_uid, nobody.pw_gid)
        os.chmod(agent.conf, 0o644)
        with open(agent.conf, "w") as f:
            f.write(agent.text.replace(st.idp.jwks_path, jwks))
        r = Check.run_t(self, agent.conf)
        self.assertEqual(r.returncode, 0, r.stderr)

        agent.start()
        with open("/proc/%d/status" % agent.proc.p.pid) as f:
            status = f.read()
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
        gids = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
        groups = re.search(r"^Groups:\s*(.*)$", status, re.M).group(1)
        self.assertEqual(uids, [str(nobody.pw_uid)] * 4, status)
        self.assertEqual(gids, [str(nobody.pw_gid)] * 4, status)
        self.assertNotIn("0", groups.split())

        # The socket is created in nobody's group (HAProxy's user gets in
        # by joining it), 0660, and stays root's: nothing is chowned or
        # chmodded by name, which a swapped-in symlink would redirect.
        sock = os.lstat(agent.sock)
        self.assertEqual((sock.st_uid, sock.st_gid), (0, nobody.pw_gid))
        self.assertEqual(sock.st_mode & 0o777, 0o660)

        # Still serving, and a reload re-reads every key as nobody.
        s, r2 = spop_session(agent.sock)
        s.sendall(spopwire.notify(1, 1, "Bearer " + st.idp.token()))
        kv = r2.frame().actions()
        s.close()
        self.assertIn("valid", kv)
        self.assertNotIn("reason", kv)
        agent.proc.signal(signal.SIGHUP)
        poll(lambda: "event=reload generation=2" in agent.proc.log(), 15.0,
             "reload as nobody")


if __name__ == "__main__":
    harness.main()
