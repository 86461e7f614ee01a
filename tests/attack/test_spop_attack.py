#!/usr/bin/python3
"""SPOP-level bad input against a running edgeseal-spoa.

Usage: test_spop_attack.py AGENT_BINARY fake|real

"fake": the agent is linked with tests/unit/agent/fake_validator.c
("Bearer good" is valid). "real": the real validator; the harness writes
an HS256 issuer key and a seal key set and mints a real user token.

Every test checks the answer (the right DISCONNECT status, or a close)
and then that the agent still serves a fresh connection.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import jwt  # python3-jwt

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import spopwire as w  # noqa: E402
from harness import free_port, poll, write_seal_keyset  # noqa: E402

AGENT = sys.argv[1] if len(sys.argv) > 1 else None
MODE = sys.argv[2] if len(sys.argv) > 2 else "fake"
DEADLINE = 20.0


class Setup:
    """Temp dir with keys and a config; knows the good token."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="es-attack-")
        self.port = free_port()
        self.good = "Bearer good"
        keyset = os.path.join(self.dir, "seal.jwks")
        issuer_key = os.path.join(self.dir, "issuer.key")
        secret = os.urandom(32)
        self.write(issuer_key, secret)
        write_seal_keyset(keyset, "s1")
        if MODE == "real":
            now = int(time.time())
            self.good = "Bearer " + jwt.encode(
                {"iss": "https://idp.test/", "sub": "alice", "iat": now,
                 "exp": now + 600}, secret, algorithm="HS256",
                headers={"kid": "t1"})
        self.conf = os.path.join(self.dir, "agent.conf")
        self.text = (
            "[agent]\nlisten = 127.0.0.1:%d\nthreads = 2\n"
            "log_level = debug\n\n"
            "[issuer test]\nissuer = https://idp.test/\n"
            "hmac_key = t1 HS256 %s\nalgorithms = HS256\n\n"
            "[seal]\nkeyset = %s\nsigning_kid = s1\n"
            % (self.port, issuer_key, keyset))
        with open(self.conf, "w") as f:
            f.write(self.text)

    @staticmethod
    def write(path, data):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, data)
        os.close(fd)


class Agent:
    def __init__(self, setup):
        self.setup = setup
        self.log = open(os.path.join(setup.dir, "agent.log"), "wb")
        self.proc = subprocess.Popen([AGENT, "-d", "-f", setup.conf],
                                     stdout=self.log, stderr=self.log)
        # Every listener is open once "started" is logged.
        poll(self.started, DEADLINE, "the agent to start")
        socket.create_connection(("127.0.0.1", setup.port), 5).close()

    def started(self):
        if self.proc.poll() is not None:
            raise RuntimeError("agent exited: " + self.logtext())
        return "event=started" in self.logtext()

    def logtext(self):
        with open(os.path.join(self.setup.dir, "agent.log")) as f:
            return f.read()

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def kill(self):
        """Cleanup after a failed test: never leave an agent running."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(DEADLINE)
        self.log.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(DEADLINE)
        self.log.close()
        return rc


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(10)
    return s


class SpopAttack(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.setup = Setup()
        cls.agent = Agent(cls.setup)
        cls.addClassCleanup(cls.agent.kill)

    @classmethod
    def tearDownClass(cls):
        rc = cls.agent.stop()
        assert rc == 0, "agent exit status %r" % rc
        log = cls.agent.logtext()
        assert "ERROR: AddressSanitizer" not in log, log[-3000:]
        assert "runtime error" not in log, log[-3000:]
        # Never a token in the logs.
        assert cls.setup.good.split()[1] not in log

    def conn(self):
        return connect(self.setup.port)

    def handshake(self, size=16380):
        s = self.conn()
        r = w.Reader(s)
        s.sendall(w.hello(size=size))
        f = r.frame()
        self.assertEqual(f.type, w.AGENT_HELLO)
        return s, r

    def assert_serving(self):
        """A fresh connection still gets a correct answer."""
        s, r = self.handshake()
        s.sendall(w.notify(1, 1, self.setup.good))
        ack = r.frame()
        self.assertEqual((ack.type, ack.sid, ack.fid), (w.ACK, 1, 1))
        self.assertEqual(ack.actions()["valid"], True)
        s.close()

    def assert_disconnect(self, data, status, hello_first=True):
        if hello_first:
            s, r = self.handshake()
        else:
            s = self.conn()
            r = w.Reader(s)
        s.sendall(data)
        f = r.frame()
        self.assertIsNotNone(f, "closed without DISCONNECT")
        self.assertEqual(f.type, w.AGENT_DISCONNECT)
        self.assertEqual(f.kv()["status-code"], status)
        self.assertTrue(r.eof(), "still open after DISCONNECT")
        s.close()
        self.assert_serving()

    # --- handshake ---------------------------------------------------

    def test_hello_answer(self):
        s = self.conn()
        r = w.Reader(s)
        s.sendall(w.hello(size=4000, versions=" 1.0 , 2.0 "))
        f = r.frame()
        self.assertEqual((f.type, f.sid, f.fid, f.flags),
                         (w.AGENT_HELLO, 0, 0, w.FIN))
        kv = f.kv()
        self.assertEqual(kv["version"], "2.0")
        self.assertEqual(kv["max-frame-size"], 4000)
        self.assertEqual(kv["capabilities"], "pipelining")
        s.close()

    def test_healthcheck_hello_then_close(self):
        s = self.conn()
        r = w.Reader(s)
        s.sendall(w.hello(caps="", healthcheck=True))
        self.assertEqual(r.frame().type, w.AGENT_HELLO)
        self.assertTrue(r.eof())
        s.close()

    def test_hello_refusals(self):
        cases = [(w.hello(versions="1.0"), 8), (w.hello(versions=None), 5),
                 (w.hello(size=None), 6), (w.hello(size=255), 9),
                 (w.hello(size_key="max"), 6)]
        for data, status in cases:
            with self.subTest(status=status):
                self.assert_disconnect(data, status, hello_first=False)

    def test_notify_before_hello(self):
        self.assert_disconnect(w.notify(1, 1, "x"), 4, hello_first=False)

    def test_hello_one_byte_per_write(self):
        s = self.conn()
        r = w.Reader(s)
        for b in w.hello():
            s.send(bytes([b]))
            time.sleep(0.001)   # separate segments, not synchronisation
        self.assertEqual(r.frame().type, w.AGENT_HELLO)
        s.sendall(w.notify(3, 1, self.setup.good))
        self.assertEqual(r.frame().actions()["valid"], True)
        s.close()

    def test_hello_and_notify_in_one_write(self):
        s = self.conn()
        r = w.Reader(s)
        s.sendall(w.hello() + w.notify(0, 1, self.setup.good) +
                  w.notify(0, 2, "Bearer nope"))
        self.assertEqual(r.frame().type, w.AGENT_HELLO)
        a1, a2 = r.frame(), r.frame()
        self.assertEqual((a1.sid, a1.fid), (0, 1))
        self.assertEqual(a1.actions()["sub"], "alice")
        self.assertEqual((a2.sid, a2.fid), (0, 2))
        self.assertEqual(set(a2.actions()), {"reason"})
        s.close()

    # --- bad frames --------------------------------------------------

    def test_zero_length_frame(self):
        self.assert_disconnect(b"\0\0\0\0", 4)

    def test_length_beyond_announced_max(self):
        self.assert_disconnect(b"\0\0\x40\x01" + b"\3" * 64, 3)
        self.assert_disconnect(b"\xff\xff\xff\xff", 3)

    def test_frame_bigger_than_negotiated(self):
        s, r = self.handshake(size=300)
        s.sendall(w.notify(1, 1, "Bearer " + "x" * 400))
        f = r.frame()
        self.assertEqual((f.type, f.kv()["status-code"]),
                         (w.AGENT_DISCONNECT, 3))
        s.close()

    def test_varint_too_long(self):
        body = b"\x03\0\0\0\1" + b"\xff" * 11 + b"\x00\x01"
        self.assert_disconnect(len(body).to_bytes(4, "big") + body, 4)

    def test_varint_overflow(self):
        body = b"\x03\0\0\0\1" + b"\xff" * 9 + b"\x7f" + b"\x01"
        self.assert_disconnect(len(body).to_bytes(4, "big") + body, 4)

    def test_string_past_frame_end(self):
        msg = w.varint(14) + b"edgeseal-check\x01" + w.bstr("auth") + \
            b"\x08" + w.varint(5000) + b"short"
        self.assert_disconnect(w.frame(w.NOTIFY, 1, 1, msg), 4)

    def test_string_length_wrapping(self):
        msg = w.varint(2 ** 64 - 2) + b"x"
        self.assert_disconnect(w.frame(w.NOTIFY, 1, 1, msg), 4)

    def test_nb_args_larger_than_present(self):
        msg = w.bstr("edgeseal-check") + b"\x05" + w.bstr("auth") + \
            w.t_string("Bearer x")
        self.assert_disconnect(w.frame(w.NOTIFY, 1, 1, msg), 4)

    def test_unknown_frame_type(self):
        self.assert_disconnect(w.frame(42, 0, 0, b""), 4)

    def test_agent_frames_from_haproxy_side(self):
        self.assert_disconnect(w.frame(w.ACK, 1, 1, b""), 4)
        self.assert_disconnect(w.frame(w.AGENT_HELLO, 0, 0, b""), 4)

    def test_fragment_without_fin(self):
        self.assert_disconnect(
            w.frame(w.NOTIFY, 1, 1, w.check_message("x"), flags=0), 10)

    def test_second_hello(self):
        self.assert_disconnect(w.hello(), 4)

    def test_truncated_frame_then_eof(self):
        s, r = self.handshake()
        s.sendall(w.notify(1, 1, self.setup.good)[:-3])
        s.shutdown(socket.SHUT_WR)
        self.assertTrue(r.eof())
        s.close()
        self.assert_serving()

    def test_haproxy_disconnect(self):
        s, r = self.handshake()
        s.sendall(w.disconnect(2, "a timeout occurred"))
        f = r.frame()
        self.assertEqual((f.type, f.kv()["status-code"]),
                         (w.AGENT_DISCONNECT, 0))
        self.assertTrue(r.eof())
        s.close()

    # --- NOTIFY semantics --------------------------------------------

    def test_pipelined_twenty(self):
        s, r = self.handshake()
        batch = b""
        for i in range(20):
            auth = self.setup.good if i % 2 else "Bearer bad"
            batch += w.notify(2 * i + 1, 1, auth)
        s.sendall(batch)
        seen = {}
        for _ in range(20):
            f = r.frame()
            self.assertEqual((f.type, f.flags), (w.ACK, w.FIN))
            seen[f.sid] = f.actions()
        self.assertEqual(set(seen), {2 * i + 1 for i in range(20)})
        for i in range(20):
            acts = seen[2 * i + 1]
            if i % 2:
                self.assertEqual(acts["valid"], True)
                self.assertEqual(acts["sub"], "alice")
                self.assertTrue(acts["seal"])
            else:
                self.assertEqual(list(acts), ["reason"])
        s.close()

    def test_message_variants(self):
        s, r = self.handshake()
        # Unknown message, missing auth, mistyped auth, two messages.
        unknown = w.frame(w.NOTIFY, 1, 1, w.check_message("x", "other"))
        absent = w.notify(1, 2, None)
        mistyped = w.frame(w.NOTIFY, 1, 3, w.bstr("edgeseal-check") +
                           b"\x01" + w.bstr("auth") + b"\x04\x2a")
        two = w.frame(w.NOTIFY, 1, 4, w.check_message("x", "other") +
                      w.check_message(self.setup.good))
        s.sendall(unknown + absent + mistyped + two)
        self.assertEqual(r.frame().actions(), {"valid": "UNSET"})
        self.assertEqual(r.frame().actions(), {"reason": "missing_token"})
        self.assertEqual(r.frame().actions(), {"reason": "malformed_token"})
        acts = r.frame().actions()
        self.assertEqual(acts["valid"], True)
        s.close()

    # --- resources ---------------------------------------------------

    def test_ten_thousand_connections(self):
        self.assert_serving()
        before = self.agent.fds()
        for i in range(10000):
            s = socket.socket()
            s.connect(("127.0.0.1", self.setup.port))
            if i % 3 == 0:
                s.send(w.hello()[:7])
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b"\1\0\0\0\0\0\0\0" if i % 2 else b"\0" * 8)
            s.close()
        # Wait for the agent to see every close, up to a deadline.
        poll(lambda: self.agent.fds() <= before, DEADLINE,
             "the agent to close 10,000 connections")
        self.assert_serving()

    def test_trickling_peer_does_not_block_others(self):
        result = {}

        def trickle():
            s = self.conn()
            r = w.Reader(s)
            for b in w.hello():
                s.send(bytes([b]))
                time.sleep(0.005)
            result["hello"] = r.frame()
            s.close()

        t = threading.Thread(target=trickle)
        s, r = self.handshake()
        t.start()
        # Serve requests for as long as the trickle lasts (~0.3 s+).
        served = 0
        while t.is_alive():
            s.sendall(w.notify(served, 1, self.setup.good))
            self.assertEqual(r.frame().sid, served)
            served += 1
        t.join(DEADLINE)
        self.assertEqual(result["hello"].type, w.AGENT_HELLO)
        self.assertGreaterEqual(served, 20)
        s.close()


class Lifecycle(unittest.TestCase):
    def test_check_mode(self):
        st = Setup()
        ok = subprocess.run([AGENT, "-t", "-f", st.conf],
                            capture_output=True, text=True)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn("configuration OK", ok.stdout)
        with open(st.conf, "a") as f:
            f.write("bogus = 1\n")
        bad = subprocess.run([AGENT, "-t", "-f", st.conf],
                             capture_output=True, text=True)
        self.assertEqual(bad.returncode, 1)
        lines = st.text.count("\n") + 1
        self.assertIn("%s:%d: unknown key 'bogus'" % (st.conf, lines),
                      bad.stderr)

    def test_reload_and_drain(self):
        st = Setup()
        agent = Agent(st)
        self.addCleanup(agent.kill)
        s = connect(st.port)
        r = w.Reader(s)
        s.sendall(w.hello())
        self.assertEqual(r.frame().type, w.AGENT_HELLO)

        # A broken config is refused and the old one keeps serving.
        with open(st.conf, "a") as f:
            f.write("[nonsense]\n")
        agent.proc.send_signal(signal.SIGHUP)
        self.wait_log(agent, "event=reload_failed")
        s.sendall(w.notify(1, 1, st.good))
        self.assertEqual(r.frame().actions()["valid"], True)

        with open(st.conf, "w") as f:
            f.write(st.text)
        agent.proc.send_signal(signal.SIGHUP)
        self.wait_log(agent, "event=reload generation=2")
        s.sendall(w.notify(1, 2, st.good))
        self.assertEqual(r.frame().actions()["valid"], True)

        # SIGTERM with a request just sent: it is answered, then bye.
        s.sendall(w.notify(1, 3, st.good))
        self.assertEqual(r.frame().fid, 3)
        agent.proc.send_signal(signal.SIGTERM)
        f = r.frame()
        self.assertEqual((f.type, f.kv()["status-code"]),
                         (w.AGENT_DISCONNECT, 0))
        self.assertEqual(agent.proc.wait(DEADLINE), 0)
        self.assertNotIn("AddressSanitizer", agent.logtext())

    def test_unix_and_v6_listeners(self):
        st = Setup()
        path = os.path.join(st.dir, "agent.sock")
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(path)            # a stale socket file from a crash
        stale.close()
        v6 = free_port()
        st.text = st.text.replace(
            "threads = 2\n", "threads = 2\nlisten = unix:%s\n"
            "listen = [::1]:%d\n" % (path, v6))
        with open(st.conf, "w") as f:
            f.write(st.text)
        agent = Agent(st)
        self.addCleanup(agent.kill)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o660)
        for family, addr in ((socket.AF_UNIX, path),
                             (socket.AF_INET6, ("::1", v6))):
            s = socket.socket(family)
            s.settimeout(10)
            s.connect(addr)
            r = w.Reader(s)
            s.sendall(w.hello() + w.notify(1, 1, st.good))
            self.assertEqual(r.frame().type, w.AGENT_HELLO)
            self.assertEqual(r.frame().actions()["valid"], True)
            s.close()
        self.assertEqual(agent.stop(), 0)
        self.assertFalse(os.path.exists(path))

    @staticmethod
    def wait_log(agent, text):
        poll(lambda: text in agent.logtext(), DEADLINE, repr(text))


if __name__ == "__main__":
    if AGENT is None or not os.access(AGENT, os.X_OK):
        print("agent binary not built; skipping")
        sys.exit(77)
    unittest.main(argv=[sys.argv[0], "-v"])
