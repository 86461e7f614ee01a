"""Helpers shared by the fault tests: a steady HTTP load through HAProxy,
the check that nothing reached the upstream without a valid seal, and
what /proc says about a process (descriptors, resident memory, CPU time).

The processes, the echo upstream and the IdP come from tests/e2e/harness.py;
this file only adds what fault injection needs on top of them.
"""
import base64
import json
import os
import sys
import threading
import time

import jwt  # python3-jwt

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "attack"))
import harness  # noqa: E402
import spopwire  # noqa: E402,F401  (re-exported for the tests)

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- load ----

class Result:
    __slots__ = ("client", "sub", "status", "start", "end", "user")

    def __init__(self, client, sub, status, start, end, user):
        self.client = client
        self.sub = sub
        self.status = status
        self.start = start
        self.end = end
        self.user = user        # X-User-Id the upstream saw, on 200


class Load:
    """concurrency clients, each sending one request at a time through
    HAProxy's front socket until stop(). Every request carries its own
    subject in the path and a token for that subject, so the upstream's
    record can be matched with the request that produced it. Tokens are
    signed up front (RS256 signing is the slowest part of a request) and
    reused round robin, so the agent's cache sees hits and misses."""

    def __init__(self, stack, concurrency=4, tokens_per_client=8,
                 timeout=10.0):
        self.stack = stack
        self.concurrency = concurrency
        self.timeout = timeout
        self.results = []
        self.errors = []        # client-side exceptions (no HTTP answer)
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.tokens = [[stack.idp.token(sub="c%d-t%d" % (k, i))
                        for i in range(tokens_per_client)]
                       for k in range(concurrency)]
        self.threads = [threading.Thread(target=self._client, args=(k,),
                                         daemon=True)
                        for k in range(concurrency)]

    def _client(self, k):
        i = 0
        while not self.halt.is_set():
            n = i % len(self.tokens[k])
            sub = "c%d-t%d" % (k, n)
            start = time.monotonic()
            try:
                r = harness.request(self.stack.front, "/api/" + sub,
                                    [("Authorization",
                                      "Bearer " + self.tokens[k][n])],
                                    timeout=self.timeout)
                user = None
                if r.status == 200:
                    user = dict((a.lower(), b) for a, b in
                                r.json()["headers"]).get("x-user-id")
                res = Result(k, sub, r.status, start, time.monotonic(),
                             user)
                with self.lock:
                    self.results.append(res)
            except (OSError, AssertionError) as e:
                with self.lock:
                    self.errors.append((k, sub, repr(e)))
            i += 1

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.halt.set()
        for t in self.threads:
            t.join(self.timeout + 5)

    def count(self):
        with self.lock:
            return len(self.results)

    def snapshot(self):
        with self.lock:
            return list(self.results)

    def wait_since(self, t, n, timeout, what):
        """Poll until n answers came back for requests sent at or after
        monotonic time t."""
        harness.poll(lambda: sum(1 for r in self.snapshot()
                                 if r.start >= t) >= n, timeout, what)

    def wait_for(self, n, timeout, what):
        """Poll until n more answers than now have come back."""
        target = self.count() + n
        harness.poll(lambda: self.count() >= target, timeout, what)


# --------------------------------------------------------------- seals ----

def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def load_keys(path):
    """kid -> raw HS256 key from a seal key set file."""
    with open(path) as f:
        return {k["kid"]: b64url_decode(k["k"]) for k in json.load(f)["keys"]}


def check_forwarded(test, stack, keys):
    """Every request the upstream received came with exactly one
    X-User-Id, X-Internal-Call: true and an X-Edge-Seal that verifies with
    the agent's keys and names that user, who is also the one in the path.
    Returns the number of requests checked."""
    with stack.upstream.lock:
        seen = list(stack.upstream.seen)
    for rec in seen:
        h = {}
        for k, v in rec["headers"]:
            h.setdefault(k.lower(), []).append(v)
        test.assertEqual(len(h.get("x-user-id", [])), 1, rec)
        test.assertEqual(h.get("x-internal-call"), ["true"], rec)
        test.assertEqual(len(h.get("x-edge-seal", [])), 1, rec)
        seal = h["x-edge-seal"][0]
        kid = jwt.get_unverified_header(seal)["kid"]
        test.assertIn(kid, keys, rec)
        claims = jwt.decode(seal, keys[kid], algorithms=["HS256"],
                            options={"verify_aud": False},
                            issuer="edgeseal")
        test.assertEqual(claims["sub"], h["x-user-id"][0], rec)
        if rec["path"].startswith("/api/"):
            test.assertEqual(rec["path"], "/api/" + claims["sub"], rec)
    return len(seen)


# ---------------------------------------------------------------- proc ----

def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def stopped(pid):
    """True once every thread of pid is in the stopped state: SIGSTOP
    takes effect as each thread next runs, which on a loaded machine can
    be milliseconds after kill() returned."""
    task = "/proc/%d/task" % pid
    for tid in os.listdir(task):
        try:
            with open("%s/%s/stat" % (task, tid)) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        if state not in ("T", "t"):
            return False
    return True


def cpu_seconds(pid):
    """User + system CPU time of every thread of pid so far."""
    with open("/proc/%d/stat" % pid) as f:
        # The command name may contain spaces: fields start after ")".
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK
