#!/usr/bin/python3
"""Two agents in HAProxy's agent backend (EDGESEAL_AGENT2), both with
health checks, under a steady load; one is SIGKILLed. Only the requests
in flight on it at that instant may fail: the failures are counted and
must not exceed the number of requests in flight at all (the load's
concurrency). Nothing reaches the upstream without a seal that verifies,
and once HAProxy marks the dead agent down every request passes through
the other one.
"""
import signal
import time

import faultlib
import harness

CONCURRENCY = 6


class Redundancy(harness.StackTest):

    def setUp(self):
        super().setUp()
        st = self.stack
        st.start_upstream()
        # Both agents share one seal key set (Stack writes it once).
        self.first = st.start_real_agent(name="agent-a")
        addr1 = st.agent_addr
        self.second = st.start_real_agent(name="agent-b")
        addr2 = st.agent_addr
        st.agent, st.agent_addr = self.first, addr1
        st.start_haproxy(timeout="500ms", inter="100ms",
                         extra_env={"EDGESEAL_AGENT2": addr2})
        st.wait_agent_state("UP", server="agent2")
        self.keys = faultlib.load_keys(st.keyset)
        self.load = faultlib.Load(st, concurrency=CONCURRENCY)
        self.addCleanup(self.load.stop)

    def served_by(self, proc):
        return proc.log().count("event=decision")

    def test_one_of_two_killed_under_load(self):
        st = self.stack
        self.load.start()
        self.load.wait_for(60, 60.0, "60 answers before the kill")
        # Both agents took a share of the load before the kill.
        harness.poll(lambda: self.served_by(self.first) > 0 and
                     self.served_by(self.second) > 0, 30.0,
                     "both agents deciding")

        self.first.signal(signal.SIGKILL)
        killed_at = time.monotonic()
        harness.poll(lambda: not self.first.alive(), 10.0, "agent death")
        st.wait_agent_state("DOWN", server="agent1")
        self.load.wait_for(60, 60.0, "60 answers after agent1 went down")
        self.load.stop()
        results = self.load.snapshot()

        self.assertEqual(self.load.errors, [])
        self.assertEqual({r.status for r in results} - {200, 503}, set())
        failed = [r for r in results if r.status != 200]
        print("redundancy: %d requests, %d failed, concurrency %d" %
              (len(results), len(failed), CONCURRENCY))
        # Only requests in flight at the kill may fail: each client has at
        # most one, and each was sent before the kill.
        self.assertLessEqual(len(failed), CONCURRENCY)
        for r in failed:
            self.assertLess(r.start, killed_at + 0.05)
        for r in results:
            if r.status == 200:
                self.assertEqual(r.user, r.sub)
        ok = sum(1 for r in results if r.status == 200)
        self.assertEqual(faultlib.check_forwarded(self, st, self.keys), ok)


if __name__ == "__main__":
    harness.main()
