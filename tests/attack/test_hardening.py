#!/usr/bin/python3
"""Regression tests for the red-team findings against edgeseal-spoa.

Usage: test_hardening.py AGENT_BINARY fake|real

Both modes: a connection that never completes HELLO is closed after
hello_timeout, an idle one after idle_timeout (with AGENT-DISCONNECT),
max_connections gives up unhandshaken connections first, a second agent
on a live unix socket refuses to start and an agent removes at exit only
the socket file it bound, an agent configuration that others may write
(or a FIFO) is refused.
"real" adds the key files (world-writable or foreign JWKS and PEM files,
a FIFO as jwks_file) and daemon mode with a relative -f and relative key
paths, where SIGHUP must still apply a changed configuration.
"""
import base64
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import jwt  # python3-jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import spopwire as w  # noqa: E402
from harness import free_port, poll, write_seal_keyset  # noqa: E402

AGENT = sys.argv[1] if len(sys.argv) > 1 else None
MODE = sys.argv[2] if len(sys.argv) > 2 else "fake"
DEADLINE = 20.0
ISS = "https://idp.test/"


def write(path, data, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.write(fd, data if isinstance(data, bytes) else data.encode())
    os.close(fd)
    os.chmod(path, mode)


def b64url(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Setup:
    """A temp dir with an HS256 issuer key, a seal key set, a config."""

    def __init__(self, agent_lines="", issuer_lines="", listen=None,
                 relative=False):
        self.dir = tempfile.mkdtemp(prefix="es-hard-")
        self.port = free_port()
        self.secret = os.urandom(32)
        write(os.path.join(self.dir, "issuer.key"), self.secret)
        write_seal_keyset(os.path.join(self.dir, "seal.jwks"), "s1")
        self.good = "Bearer good"
        if MODE == "real":
            self.good = "Bearer " + self.token()
        # relative: file names relative to the configuration's folder.
        where = "" if relative else self.dir + "/"
        self.listen = (listen or "127.0.0.1:%d" % self.port).format(
            dir=self.dir)
        self.conf = os.path.join(self.dir, "agent.conf")
        self.agent_lines = agent_lines
        self.text = (
            "[agent]\nlisten = %s\nthreads = 1\nlog_level = debug\n%s\n"
            "[issuer test]\nissuer = %s\nhmac_key = t1 HS256 %sissuer.key\n"
            "algorithms = HS256 RS256\n%s\n"
            "[seal]\nkeyset = %sseal.jwks\nsigning_kid = s1\n"
            % (self.listen, agent_lines, ISS, where, issuer_lines, where))
        write(self.conf, self.text, 0o644)

    def token(self, **claims):
        now = int(time.time())
        body = {"iss": ISS, "sub": "alice", "iat": now, "exp": now + 600}
        body.update(claims)
        return jwt.encode(body, self.secret, algorithm="HS256",
                          headers={"kid": "t1"})

    def check(self):
        """edgeseal-spoa -t, which must finish on its own."""
        return subprocess.run([AGENT, "-t", "-f", self.conf],
                              capture_output=True, text=True,
                              timeout=DEADLINE)


class Agent:
    def __init__(self, setup, wait=True):
        self.setup = setup
        self.logpath = os.path.join(setup.dir, "agent%d.log" % id(self))
        self.log = open(self.logpath, "wb")
        self.proc = subprocess.Popen([AGENT, "-d", "-f", setup.conf],
                                     stdout=self.log, stderr=self.log)
        if wait:
            poll(self.started, DEADLINE, "the agent to start")

    def started(self):
        if self.proc.poll() is not None:
            raise RuntimeError("agent exited: " + self.logtext())
        return "event=started" in self.logtext()

    def logtext(self):
        with open(self.logpath) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(DEADLINE)
        self.log.close()
        text = self.logtext()
        assert "AddressSanitizer" not in text, text[-3000:]
        assert "runtime error" not in text, text[-3000:]
        return self.proc.returncode


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(DEADLINE)
    return s


def handshake(port):
    s = connect(port)
    r = w.Reader(s)
    s.sendall(w.hello())
    assert r.frame().type == w.AGENT_HELLO
    return s, r


def closed(s):
    """Has the agent closed s? Never blocks."""
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        s.setblocking(True)


def answer(s, r, auth, fid=1):
    s.sendall(w.notify(1, fid, auth))
    return r.frame().actions()


class Timeouts(unittest.TestCase):
    """hello_timeout and idle_timeout; the closed peers see it happen."""

    @classmethod
    def setUpClass(cls):
        cls.st = Setup("hello_timeout = 1\nidle_timeout = 2\n")
        cls.agent = Agent(cls.st)
        cls.addClassCleanup(cls.agent.stop)

    def test_no_hello_is_closed(self):
        silent = connect(self.st.port)
        half = connect(self.st.port)
        half.sendall(w.hello()[:10])
        # Closed without a DISCONNECT: no SPOP session exists yet.
        for s in (silent, half):
            self.assertEqual(s.recv(100), b"")
            s.close()
        self.assertIn("no HELLO in time", self.agent.logtext())
        s, r = handshake(self.st.port)
        self.assertEqual(answer(s, r, self.st.good)["valid"], True)
        s.close()

    def test_idle_is_disconnected(self):
        s, r = handshake(self.st.port)
        f = r.frame()
        self.assertEqual((f.type, f.kv()["status-code"]),
                         (w.AGENT_DISCONNECT, 2))
        self.assertTrue(r.eof())
        s.close()

    def test_traffic_keeps_a_connection(self):
        s, r = handshake(self.st.port)
        # Requests 1.2 s apart: 3.6 s in all, past idle_timeout = 2.
        for fid in range(1, 4):
            time.sleep(1.2)     # pacing, not synchronisation
            self.assertEqual(answer(s, r, self.st.good, fid)["valid"], True)
        s.close()


class ConnectionCap(unittest.TestCase):
    """max_connections: room is made, unhandshaken connections first."""

    @classmethod
    def setUpClass(cls):
        cls.st = Setup("max_connections = 4\nhello_timeout = 60\n")
        cls.agent = Agent(cls.st)
        cls.addClassCleanup(cls.agent.stop)

    def test_flood_does_not_lock_out_haproxy(self):
        a, ra = handshake(self.st.port)
        flood = [connect(self.st.port) for _ in range(8)]
        # Whatever was held is now either answered or closed; a new
        # handshaken connection and the old one both still work.
        b, rb = handshake(self.st.port)
        self.assertEqual(answer(a, ra, self.st.good)["valid"], True)
        self.assertEqual(answer(b, rb, self.st.good)["valid"], True)
        # 8 + 2 connections for 4 places: at least 6 flood ones went.
        poll(lambda: sum(map(closed, flood)) >= 6, DEADLINE,
             "six flood connections to be closed")
        self.assertIn("event=conn_limit", self.agent.logtext())
        for s in flood + [a, b]:
            s.close()

    def test_all_ready_oldest_idle_goes(self):
        conns = [handshake(self.st.port) for _ in range(4)]
        # Activity on all but the first, so the first is the quietest.
        for i, (s, r) in enumerate(conns[1:]):
            self.assertEqual(answer(s, r, self.st.good, i + 1)["valid"],
                             True)
        extra = handshake(self.st.port)
        f = conns[0][1].frame()
        self.assertEqual((f.type, f.kv()["status-code"]),
                         (w.AGENT_DISCONNECT, 13))
        for s, r in conns[1:] + [extra]:
            self.assertEqual(answer(s, r, self.st.good, 9)["valid"], True)
            s.close()
        conns[0][0].close()


class UnixSocket(unittest.TestCase):
    def setUp(self):
        self.st = Setup(listen="unix:{dir}/agent.sock")
        self.path = os.path.join(self.st.dir, "agent.sock")

    def reachable(self):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(DEADLINE)
        s.connect(self.path)
        r = w.Reader(s)
        s.sendall(w.hello() + w.notify(1, 1, self.st.good))
        ok = r.frame().type == w.AGENT_HELLO and \
            r.frame().actions()["valid"] is True
        s.close()
        return ok

    def test_second_agent_refuses_live_socket(self):
        first = Agent(self.st)
        self.addCleanup(first.stop)
        second = Agent(self.st, wait=False)
        self.assertNotEqual(second.proc.wait(DEADLINE), 0)
        second.stop()
        self.assertIn("address in use", second.logtext())
        self.assertTrue(self.reachable())

    def test_exit_leaves_a_socket_it_did_not_bind(self):
        first = Agent(self.st)
        self.addCleanup(first.stop)
        # Someone replaced the file (a newer agent): not ours to remove.
        os.unlink(self.path)
        other = socket.socket(socket.AF_UNIX)
        other.bind(self.path)
        self.addCleanup(other.close)
        self.assertEqual(first.stop(), 0)
        self.assertTrue(os.path.exists(self.path))

    def test_exit_removes_its_own_socket(self):
        first = Agent(self.st)
        self.assertTrue(self.reachable())
        self.assertEqual(first.stop(), 0)
        self.assertFalse(os.path.exists(self.path))


class TrustedFiles(unittest.TestCase):
    def assert_refused(self, st, text):
        res = st.check()
        self.assertNotEqual(res.returncode, 0, res.stdout)
        self.assertIn(text, res.stderr)

    def test_config_writable_by_others(self):
        st = Setup()
        self.assertEqual(st.check().returncode, 0)
        for mode in (0o666, 0o664):
            os.chmod(st.conf, mode)
            self.assert_refused(st, "%s:0: writable by group or others"
                                % st.conf)

    def test_config_fifo(self):
        st = Setup()
        fifo = os.path.join(st.dir, "fifo.conf")
        os.mkfifo(fifo)
        st.conf = fifo
        self.assert_refused(st, "%s:0: not a regular file" % fifo)

    @unittest.skipUnless(MODE == "real", "key files need the real agent")
    def test_key_files(self):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub = key.public_key()
        nums = pub.public_numbers()
        pem = pub.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
        jwks = ('{"keys":[{"kty":"RSA","kid":"r1","alg":"RS256","n":"%s",'
                '"e":"%s"}]}' % (b64url(nums.n), b64url(nums.e)))
        # Named relative to the configuration's folder (fix 3).
        st = Setup(issuer_lines="jwks_file = jwks.json\n"
                   "pem_key = r2 RS256 rs2.pem\n", relative=True)
        jpath = os.path.join(st.dir, "jwks.json")
        ppath = os.path.join(st.dir, "rs2.pem")
        write(jpath, jwks, 0o644)
        write(ppath, pem, 0o644)
        res = st.check()
        self.assertEqual(res.returncode, 0, res.stderr)

        lines = st.text.splitlines()
        jline = lines.index("jwks_file = jwks.json") + 1
        pline = lines.index("pem_key = r2 RS256 rs2.pem") + 1
        for path, line in ((jpath, jline), (ppath, pline)):
            for mode in (0o666, 0o646, 0o664):
                os.chmod(path, mode)
                self.assert_refused(st, "%s:%d: %s: writable by group or "
                                    "others" % (st.conf, line, path))
            os.chmod(path, 0o644)
            if os.geteuid() == 0:
                os.chown(path, 65534, 65534)
                self.assert_refused(st, "%s: owned by neither root nor "
                                    "the agent's user" % path)
                os.chown(path, 0, 0)
        self.assertEqual(st.check().returncode, 0)

        # A FIFO as jwks_file: refused at once, never a hang in open().
        os.unlink(jpath)
        os.mkfifo(jpath)
        self.assert_refused(st, "%s:%d: %s: not a regular file"
                            % (st.conf, jline, jpath))


def find_daemon(conf):
    """The pid of the daemon whose command line names conf."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if conf.encode() in args and AGENT.encode() in args:
            return int(pid)
    return None


@unittest.skipUnless(MODE == "real", "reload needs the real validator")
class DaemonRelative(unittest.TestCase):
    def test_reload_with_relative_paths(self):
        st = Setup(issuer_lines="audiences = api\n", relative=True)
        good = "Bearer " + st.token(aud="api")
        parent, sub = os.path.split(st.dir)
        # Started from the parent with "-f <dir>/agent.conf": both the
        # -f path and the key paths inside are relative.
        rel = os.path.join(sub, "agent.conf")
        res = subprocess.run([AGENT, "-f", rel], cwd=parent,
                             capture_output=True, timeout=DEADLINE)
        self.assertEqual(res.returncode, 0, res.stderr)
        pid = poll(lambda: find_daemon(rel), DEADLINE, "the daemon")
        self.addCleanup(lambda: os.kill(pid, signal.SIGKILL)
                        if find_daemon(rel) else None)

        def verdict():
            try:
                s, r = handshake(st.port)
            except OSError:
                return None
            acts = answer(s, r, good)
            s.close()
            return acts

        self.assertEqual(poll(verdict, DEADLINE, "an answer")["valid"], True)
        write(st.conf, st.text.replace("audiences = api",
                                       "audiences = other"), 0o644)
        os.kill(pid, signal.SIGHUP)
        acts = poll(lambda: (verdict() or {}).get("reason"), DEADLINE,
                    "the reload to apply")
        self.assertEqual(acts, "bad_audience")
        os.kill(pid, signal.SIGTERM)
        poll(lambda: find_daemon(rel) is None, DEADLINE, "the daemon exit")


if __name__ == "__main__":
    if AGENT is None or not os.access(AGENT, os.X_OK):
        print("agent binary not built; skipping")
        sys.exit(77)
    unittest.main(argv=[sys.argv[0], "-v"])
