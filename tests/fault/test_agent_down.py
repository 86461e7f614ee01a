#!/usr/bin/python3
"""One agent behind the shipped HAProxy files, under a steady load, taken
away while requests flow: SIGKILLed then restarted, SIGSTOPped then
continued. tests/e2e/test_agent_failures.py checks single requests around
these events; here the load never stops, so the tests see the transition
itself: every answer is 200 or 503, nothing reaches the upstream without a
seal that verifies, refusals come fast once the health check marks the
agent down, and the same load passes again after recovery without
touching HAProxy.
"""
import signal
import time

import faultlib
import harness

# HAProxy's budget for one agent exchange, and how often it checks the
# agent. The refusal bound leaves room for a loaded machine.
TIMEOUT = "500ms"
INTER = "100ms"
FAST_REFUSAL = 1.5


class AgentDown(harness.StackTest):

    def setUp(self):
        super().setUp()
        self.stack.start_upstream()
        self.stack.start_real_agent()
        self.stack.start_haproxy(timeout=TIMEOUT, inter=INTER)
        self.keys = faultlib.load_keys(self.stack.keyset)
        self.load = faultlib.Load(self.stack, concurrency=4)
        self.addCleanup(self.load.stop)

    def assert_consistent(self, results):
        """What the clients saw matches what the upstream saw."""
        self.assertEqual(self.load.errors, [])
        self.assertEqual({r.status for r in results} - {200, 503}, set())
        ok = [r for r in results if r.status == 200]
        for r in ok:
            self.assertEqual(r.user, r.sub)
        self.assertEqual(faultlib.check_forwarded(self, self.stack,
                                                  self.keys), len(ok))

    def test_killed_under_load_then_restarted(self):
        st = self.stack
        self.load.start()
        self.load.wait_for(40, 60.0, "40 answers before the kill")

        st.agent.signal(signal.SIGKILL)
        harness.poll(lambda: not st.agent.alive(), 10.0, "agent death")
        st.wait_agent_state("DOWN")
        down_at = time.monotonic()
        self.load.wait_since(down_at, 20, 60.0,
                             "20 answers while the agent is down")
        up_at = time.monotonic()

        st.restart_real_agent()
        st.wait_agent_state("UP")
        self.load.wait_for(40, 60.0, "40 answers after the restart")
        self.load.stop()
        results = self.load.snapshot()
        self.assert_consistent(results)

        # While down, every request was refused and refused fast: no
        # request waited out the agent's timeout.
        down = [r for r in results if r.start >= down_at and r.end <= up_at]
        self.assertGreaterEqual(len(down), 20)
        self.assertEqual({r.status for r in down}, {503})
        self.assertLess(max(r.end - r.start for r in down), FAST_REFUSAL)

        # The restarted agent serves the same load: the last answers pass.
        self.assertEqual({r.status for r in results[-20:]}, {200})

    def test_frozen_under_load_then_continued(self):
        st = self.stack
        self.load.start()
        self.load.wait_for(40, 60.0, "40 answers before the freeze")

        st.agent.signal(signal.SIGSTOP)
        try:
            harness.poll(lambda: faultlib.stopped(st.agent.p.pid), 10.0,
                         "every agent thread stopped")
            frozen_at = time.monotonic()
            st.wait_agent_state("DOWN")
            self.load.wait_since(frozen_at, 20, 60.0,
                                 "20 answers while frozen")
            forwarded_frozen = st.upstream.count()
            self.load.wait_since(frozen_at, 30, 60.0,
                                 "10 more answers while frozen")
            # A frozen agent decides nothing, so nothing more is forwarded.
            self.assertEqual(st.upstream.count(), forwarded_frozen)
        finally:
            thawed_at = time.monotonic()
            st.agent.signal(signal.SIGCONT)

        st.wait_agent_state("UP")
        self.load.wait_for(40, 60.0, "40 answers after SIGCONT")
        self.load.stop()
        results = self.load.snapshot()
        self.assert_consistent(results)

        # Requests sent to the frozen agent before the health check gave
        # up wait at most "timeout processing"; then the refusals are fast.
        frozen = [r for r in results
                  if r.start >= frozen_at and r.end <= thawed_at]
        self.assertGreaterEqual(len(frozen), 30)
        passed = [(r.sub, round(r.start - frozen_at, 4),
                   round(r.end - frozen_at, 4)) for r in frozen
                  if r.status != 503]
        self.assertEqual(passed, [], "passed while frozen (sub, start, "
                         "end after SIGSTOP)")
        self.assertLess(max(r.end - r.start for r in frozen), 0.5 + 2.0)
        self.assertEqual({r.status for r in results[-20:]}, {200})


if __name__ == "__main__":
    harness.main()
