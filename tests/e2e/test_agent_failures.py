#!/usr/bin/python3
"""The real agent failing under HAProxy: stopped, SIGKILLed in the middle
of a burst, frozen (SIGSTOP) past timeout processing. Nothing reaches the
upstream without the agent's positive answer (503 instead), and requests
pass again once the agent is back."""

import concurrent.futures
import contextlib
import signal
import threading
import time

import harness


def headers_of(rec):
    return {k.lower(): v for k, v in rec["headers"]}


class AgentFailures(harness.StackTest):

    def setUp(self):
        super().setUp()
        self.stack.start_upstream()
        self.stack.start_real_agent()

    @contextlib.contextmanager
    def clients(self, n, prefix):
        """n clients, each sending one request at a time for a subject of
        its own, until the block ends; yields the growing list of
        (subject, response) pairs."""
        results, lock, stop = [], threading.Lock(), threading.Event()

        def client(k):
            i = 0
            while not stop.is_set():
                sub = "%s%d-%d" % (prefix, k, i)
                r = self.stack.get("/api/me", self.bearer(sub))
                with lock:
                    results.append((sub, r))
                i += 1

        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            for k in range(n):
                pool.submit(client, k)
            try:
                yield results
            finally:
                stop.set()

    def bearer(self, sub="alice"):
        return [("Authorization", "Bearer " + self.stack.idp.token(sub=sub))]

    def assert_back(self):
        """Restart the agent on the same address; requests pass again."""
        self.stack.restart_real_agent()
        self.stack.wait_agent_state("UP")
        before = self.stack.upstream.count()
        r = self.stack.get("/api/me", self.bearer("back"))
        self.assertEqual(r.status, 200)
        self.assertEqual(headers_of(r.json())["x-user-id"], "back")
        self.assertEqual(self.stack.upstream.count(), before + 1)

    def test_agent_stopped(self):
        st = self.stack
        st.start_haproxy(timeout="5s", inter="100ms")
        self.assertEqual(st.get("/api/me", self.bearer()).status, 200)

        st.agent.signal(signal.SIGTERM)
        harness.poll(lambda: not st.agent.alive(), 10.0, "agent exit")
        st.wait_agent_state("DOWN")

        start = time.monotonic()
        r = st.get("/api/me", self.bearer())
        self.assertEqual(r.status, 503)
        # The health check made it fail fast, well within the 5 s of
        # timeout processing (the margin absorbs a loaded machine).
        self.assertLess(time.monotonic() - start, 2.5)
        self.assertEqual(st.upstream.count(), 1)
        self.assertEqual(st.get("/public/x").status, 200)
        self.assertEqual(st.upstream.count(), 2)
        self.assert_back()

    def test_agent_killed_mid_run(self):
        st = self.stack
        st.start_haproxy(timeout="500ms", inter="100ms")
        with self.clients(4, "c") as results:
            harness.poll(lambda: len(results) >= 20, 30.0, "20 answers")
            st.agent.signal(signal.SIGKILL)
            harness.poll(lambda: not st.agent.alive(), 10.0, "agent death")
            killed_at = len(results)
            harness.poll(lambda: len(results) >= killed_at + 20, 60.0,
                         "20 answers after the kill")

        ok = [(sub, r) for sub, r in results if r.status == 200]
        # Every request either passed with its own identity or got 503.
        self.assertEqual({r.status for _, r in results} - {200, 503}, set())
        for sub, r in ok:
            self.assertEqual(headers_of(r.json())["x-user-id"], sub)
        self.assertEqual(st.upstream.count(), len(ok))
        # The last answers, well after the kill, are all refusals.
        self.assertEqual({r.status for _, r in results[-10:]}, {503})
        self.assert_back()

    def test_agent_frozen_past_timeout(self):
        st = self.stack
        # Slow health checks so the frozen agent is not marked down before
        # the request: this measures the timeout processing path itself.
        st.start_haproxy(timeout="1s", inter="30s")
        self.assertEqual(st.get("/api/me", self.bearer()).status, 200)

        st.agent.signal(signal.SIGSTOP)
        try:
            start = time.monotonic()
            r = st.get("/api/me", self.bearer("frozen"))
            elapsed = time.monotonic() - start
        finally:
            st.agent.signal(signal.SIGCONT)
        self.assertEqual(r.status, 503)
        self.assertGreaterEqual(elapsed, 0.99)
        self.assertLess(elapsed, 6.0)
        self.assertEqual(st.upstream.count(), 1)

        # Thawed, the same agent serves again.
        r = harness.poll(lambda: (lambda x: x if x.status == 200 else None)(
            st.get("/api/me", self.bearer("thawed"))), 10.0, "agent thawed")
        self.assertEqual(headers_of(r.json())["x-user-id"], "thawed")

    def test_reload_under_load(self):
        """SIGHUP while requests flow: none is dropped or refused."""
        st = self.stack
        st.start_haproxy()
        with self.clients(3, "r") as results:
            for n in range(5):
                harness.poll(lambda: len(results) >= 10 * (n + 1), 60.0,
                             "answers between reloads")
                st.agent.signal(signal.SIGHUP)
            harness.poll(lambda: len(results) >= 60, 60.0, "last answers")

        self.assertTrue(st.agent.alive())
        harness.poll(lambda: st.agent.log().count("event=reload") >= 5,
                     30.0, "five reloads in the agent's log")
        bad = [(sub, r.status) for sub, r in results if r.status != 200]
        self.assertEqual(bad, [])
        for sub, r in results:
            self.assertEqual(headers_of(r.json())["x-user-id"], sub)

    def test_second_agent_takes_over(self):
        st = self.stack
        first, addr1 = st.agent, st.agent_addr
        second = st.start_real_agent(name="agent-b")
        addr2 = st.agent_addr
        st.agent, st.agent_addr = first, addr1
        st.start_haproxy(inter="100ms", extra_env={"EDGESEAL_AGENT2": addr2})
        st.wait_agent_state("UP", server="agent2")

        first.signal(signal.SIGKILL)
        st.wait_agent_state("DOWN")
        for i in range(6):
            r = st.get("/api/me", self.bearer("b%d" % i))
            self.assertEqual(r.status, 200)
            self.assertEqual(headers_of(r.json())["x-user-id"], "b%d" % i)
        self.assertRegex(second.log(), r"event=notify conn=\d+")


if __name__ == "__main__":
    harness.main()
