"""End-to-end harness: starts HAProxy with the shipped configuration, an
agent (the real edgeseal-spoa or fake_spoa.py), an echo upstream, and
cleans everything up even when a test fails.

Paths of binaries come from the environment, set by tests/e2e/CMakeLists.txt:
  EDGESEAL_E2E_HAPROXY   haproxy binary (default: haproxy on PATH)
  EDGESEAL_E2E_SPOA      edgeseal-spoa
  EDGESEAL_E2E_CLI       edgeseal (the CLI)
  EDGESEAL_E2E_USERS, EDGESEAL_E2E_ORDERS, EDGESEAL_E2E_JOB  example services
HAProxy's public listener and the real agent listen on UNIX sockets in the
test's own directory: HAProxy binds with SO_REUSEPORT, so two tests that
drew the same free TCP port would silently share connections. Everything
else is on 127.0.0.1 with a port picked at run time, so tests can run in
parallel.
"""

import atexit
import base64
import http.server
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONF_DIR = os.path.join(ROOT, "haproxy-conf")
PYTHON = "/usr/bin/python3"
SKIP = 77

PROTECTED = ("xuserid", "xinternalcall", "xedgeseal")
SANITIZER = re.compile(r"ERROR: \w+Sanitizer.*|WARNING: ThreadSanitizer: .*|"
                       r"runtime error: .*")

sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import idp as idp_tool  # noqa: E402  (tests/tools/idp.py, the fake IdP)


def fold(name):
    """A header name the way a lax backend might compare it."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def binary(var, default=None):
    path = os.environ.get(var, default)
    if path and (os.path.isabs(path) or shutil.which(path)):
        return path if os.path.isabs(path) else shutil.which(path)
    return None


def require(var, default=None):
    """The binary named by var, or skip the test (a file whose tests all
    skip exits 77, which ctest reports as skipped)."""
    path = binary(var, default)
    if not path or not os.access(path, os.X_OK):
        raise unittest.SkipTest("%s not available" % var)
    return path


def free_port():
    """A port free right now. The tiny race with other tests is accepted
    for programs that cannot bind port 0 and report it back."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(pred, timeout, what, interval=0.02):
    """Call pred until it returns something true, at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" %
                                 (timeout, what))
        time.sleep(interval)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---------------------------------------------------------------- HTTP ----

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)


def connect(addr, timeout):
    """addr: a TCP port on 127.0.0.1, or the path of a UNIX socket."""
    if isinstance(addr, int):
        return socket.create_connection(("127.0.0.1", addr), timeout=timeout)
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    try:
        s.connect(addr)
    except OSError:
        s.close()
        raise
    return s


def read_response(s):
    """Read one response from a connected socket (Content-Length bodies,
    or until EOF when there is none)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError("connection closed before a response: %r"
                                 % data)
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = [tuple(x.strip() for x in line.split(":", 1))
               for line in lines[1:]]
    length = None
    for k, v in headers:
        if k.lower() == "content-length":
            length = int(v)
    while length is None or len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return Response(status, headers, body if length is None else body[:length])


def http_raw(addr, raw, timeout=10.0):
    """Send raw request bytes, return the parsed response (one)."""
    with connect(addr, timeout) as s:
        s.sendall(raw)
        return read_response(s)


def build_request(path="/", headers=(), method="GET", close=True):
    """Request bytes; headers is a list of (name, value), sent exactly as
    given (any spelling, duplicates allowed)."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: edge.test"]
    lines += ["%s: %s" % (k, v) for k, v in headers]
    if close and not any(k.lower() == "connection" for k, _ in headers):
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def request(addr, path="/", headers=(), method="GET", timeout=10.0):
    """One HTTP/1.1 request on its own connection."""
    return http_raw(addr, build_request(path, headers, method), timeout)


# ------------------------------------------------------------ upstream ----

class EchoUpstream:
    """The protected service: answers 200 with the request it received as
    JSON ({"method", "path", "headers": [[name, value], ...]}) and keeps
    every request in .seen so tests can assert what reached it."""

    def __init__(self):
        self.seen = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                rec = {"method": self.command, "path": self.path,
                       "headers": [[k, v] for k, v in self.headers.items()]}
                with outer.lock:
                    outer.seen.append(rec)
                body = json.dumps(rec).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = handle_any

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass    # HAProxy closing idle keep-alive connections

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return len(self.seen)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ----------------------------------------------------------- processes ----

class Proc:
    """A child process with its output in files, stopped on cleanup."""

    def __init__(self, name, argv, workdir, env=None, stdout_pipe=False):
        self.name = name
        self.argv = argv
        self.errpath = os.path.join(workdir, name + ".stderr")
        self.outpath = os.path.join(workdir, name + ".stdout")
        self.err = open(self.errpath, "wb")
        self.out = None if stdout_pipe else open(self.outpath, "wb")
        out = subprocess.PIPE if stdout_pipe else self.out
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.p = subprocess.Popen(argv, stdout=out, stderr=self.err,
                                  env=full_env, start_new_session=True)

    def readline(self, timeout):
        """A line from a piped stdout, at most timeout seconds."""
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            raise AssertionError("%s printed nothing in %.1fs" %
                                 (self.name, timeout))
        return self.p.stdout.readline().decode()

    def log(self):
        with open(self.errpath, "rb") as f:
            text = f.read().decode(errors="replace")
        if os.path.exists(self.outpath):
            with open(self.outpath, "rb") as f:
                text += f.read().decode(errors="replace")
        return text

    def alive(self):
        return self.p.poll() is None

    def signal(self, sig):
        if self.alive():
            self.p.send_signal(sig)

    def stop(self, grace=5.0):
        if self.alive():
            self.p.send_signal(signal.SIGCONT)
            self.p.terminate()
            try:
                self.p.wait(grace)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if self.p.stdout:
            self.p.stdout.close()
        if self.out:
            self.out.close()
        self.err.close()


# ------------------------------------------------------------ identity ----

class Idp:
    """The fake identity provider of tests/tools/idp.py: keys rs1 (RS256),
    es1 (ES256) and their JWKS in <workdir>/idp, plus a second, untrusted
    set in <workdir>/idp-rogue to forge bad signatures."""

    ISS = "https://idp.test/"
    AUD = "api"

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "idp")
        self.rogue_dir = os.path.join(workdir, "idp-rogue")
        idp_tool.make_keys(self.dir)
        idp_tool.make_keys(self.rogue_dir)
        self.jwks_path = os.path.join(self.dir, "jwks.json")

    _shared = None

    @classmethod
    def shared(cls):
        """One IdP per test process: key generation is the slowest part of
        a test's set-up, and the keys are never modified."""
        if cls._shared is None:
            workdir = tempfile.mkdtemp(prefix="es-e2e-idp-")
            atexit.register(shutil.rmtree, workdir, ignore_errors=True)
            cls._shared = cls(workdir)
        return cls._shared

    def token(self, sub="alice", exp_offset=None, aud=None, iss=None,
              kid="rs1", rogue=False, claims=None):
        """A signed JWT; a kid the IdP does not have is written into the
        header of a token signed with rs1."""
        headers = None
        if kid not in idp_tool.KEYS:
            headers, kid = {"kid": kid}, "rs1"
        # An expired token keeps a plausible lifetime: issued 5 min before.
        iat_offset = -5 if exp_offset is None else min(-5, exp_offset - 300)
        return idp_tool.make_token(
            self.rogue_dir if rogue else self.dir, kid=kid,
            iss=iss or self.ISS, sub=sub, aud=aud or self.AUD,
            iat_offset=iat_offset, exp_offset=exp_offset, claims=claims,
            headers=headers)


def write_jwks(path, keys):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"keys": keys}, f)


def write_seal_keyset(path, kid="k1"):
    write_jwks(path, [{"kty": "oct", "kid": kid, "alg": "HS256",
                       "k": b64url(secrets.token_bytes(32))}])


# --------------------------------------------------------------- stack ----

class Stack:
    """Everything one test needs; stop() undoes it all."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="es-e2e-")
        self.procs = []
        self.upstream = None
        self.agent = None
        self.agent_addr = None
        self.haproxy = None
        self.front = None       # HAProxy's public listener (UNIX socket)
        self.stats = os.path.join(self.dir, "admin.sock")
        self.idp = None
        self.keyset = None      # the agent's seal key set
        self.signing_kid = "k1"

    # -- pieces --

    def start_upstream(self):
        self.upstream = EchoUpstream()
        return self.upstream

    def start_fake_agent(self, mode="good", delay=0.0, name="fake-agent",
                         max_frame=16380):
        argv = [PYTHON, os.path.join(HERE, "fake_spoa.py"), "--mode", mode,
                "--delay", str(delay), "--max-frame", str(max_frame)]
        proc = Proc(name, argv, self.dir, stdout_pipe=True)
        self.procs.append(proc)
        line = proc.readline(10.0)
        port = int(line.split()[1])
        self.agent, self.agent_addr = proc, "127.0.0.1:%d" % port
        return proc

    def agent_config(self, listen, ttl=60, threads=2):
        if self.idp is None:
            self.idp = Idp.shared()
        if self.keyset is None:
            self.keyset = os.path.join(self.dir, "seal.jwks")
            write_seal_keyset(self.keyset, self.signing_kid)
        return "\n".join([
            "[agent]",
            "listen = %s" % listen,
            "threads = %d" % threads,
            "log_level = debug",
            "",
            "[issuer test]",
            "issuer = %s" % Idp.ISS,
            "audiences = %s" % Idp.AUD,
            "jwks_file = %s" % self.idp.jwks_path,
            "algorithms = RS256 ES256",
            "leeway = 0",
            "",
            "[seal]",
            "keyset = %s" % self.keyset,
            "signing_kid = %s" % self.signing_kid,
            "ttl = %d" % ttl,
            "",
            "[cache]",
            "entries = 1000",
            ""])

    def start_real_agent(self, ttl=60, sock=None, name="agent", edit=None):
        """Start edgeseal-spoa on a UNIX socket (default: <name>.sock in
        the test directory). edit, when given, maps the configuration
        text to the one written."""
        spoa = require("EDGESEAL_E2E_SPOA")
        sock = sock or os.path.join(self.dir, name + ".sock")
        conf = os.path.join(self.dir, name + ".conf")
        text = self.agent_config("unix:" + sock, ttl=ttl)
        with open(conf, "w") as f:
            f.write(edit(text) if edit else text)
        proc = Proc(name, [spoa, "-d", "-f", conf], self.dir)
        self.procs.append(proc)
        self.agent, self.agent_addr = proc, "unix@" + sock
        self.agent_sock = sock
        # The socket accepts as soon as it is bound, before the keys are
        # loaded; the agent says "started" once it serves (or it exits).
        poll(lambda: self._agent_started(proc) or self._dead(proc), 10.0,
             "agent started")
        if not proc.alive():
            raise AssertionError("agent exited:\n" + proc.log())
        return proc

    @staticmethod
    def _agent_started(proc):
        log = proc.log()
        return "event=started" in log or '"event":"started"' in log

    def restart_real_agent(self, name="agent2", edit=None):
        return self.start_real_agent(sock=self.agent_sock, name=name,
                                     edit=edit)

    def start_service(self, name, argv, port):
        """Start a program listening on port and wait until it accepts."""
        proc = Proc(name, argv, self.dir)
        self.procs.append(proc)
        poll(lambda: self._can_connect(port) or self._dead(proc), 10.0,
             name + " listening")
        if not proc.alive():
            raise AssertionError("%s exited:\n%s" % (name, proc.log()))
        return proc

    def write_keyset(self, name, keys):
        """A JWKS file of HS256 keys, mode 0600; keys maps kid -> extra
        members (restrictions). Returns (path, {kid: jwk})."""
        jwks = {}
        for kid, extra in keys.items():
            jwk = {"kty": "oct", "kid": kid, "alg": "HS256",
                   "k": b64url(secrets.token_bytes(32))}
            jwk.update(extra or {})
            jwks[kid] = jwk
        path = os.path.join(self.dir, name)
        write_jwks(path, list(jwks.values()))
        return path, jwks

    @staticmethod
    def _can_connect(addr):
        try:
            with connect(addr, 0.5):
                return True
        except OSError:
            return False

    @staticmethod
    def _dead(proc):
        return not proc.alive()

    def start_haproxy(self, timeout="3s", inter="200ms", extra_env=None,
                      wait_state="UP"):
        """Start HAProxy on the shipped files. timeout is the agent's
        timeout processing: generous by default, because a sanitizer build
        on a loaded machine can take hundreds of milliseconds per check;
        tests about timeouts pass their own."""
        haproxy = require("EDGESEAL_E2E_HAPROXY", "haproxy")
        self.front = os.path.join(self.dir, "front.sock")
        env = {
            "EDGESEAL_BIND": "unix@" + self.front,
            "EDGESEAL_AGENT": self.agent_addr,
            "EDGESEAL_UPSTREAM": "127.0.0.1:%d" % self.upstream.port,
            "EDGESEAL_SPOE_CONF": os.path.join(CONF_DIR,
                                               "edgeseal-spoe.conf"),
            "EDGESEAL_STATS_SOCKET": self.stats,
            "EDGESEAL_LOG": "stderr",
            "EDGESEAL_AGENT_TIMEOUT": timeout,
            "EDGESEAL_AGENT_CHECK_INTER": inter,
        }
        env.update(extra_env or {})
        argv = [haproxy, "-db", "-f", os.path.join(CONF_DIR, "haproxy.cfg")]
        self.haproxy = Proc("haproxy", argv, self.dir, env=env)
        self.procs.append(self.haproxy)
        # The socket file can exist a moment before HAProxy listens on it.
        poll(lambda: self._can_connect(self.stats) or
             self._dead(self.haproxy), 10.0, "haproxy admin socket")
        if not self.haproxy.alive():
            raise AssertionError("haproxy exited:\n" + self.haproxy.log())
        if wait_state:
            self.wait_agent_state(wait_state)
        return self.haproxy

    # -- admin socket --

    def admin(self, command):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5.0)
            s.connect(self.stats)
            s.sendall(command.encode() + b"\n")
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out.decode()
                out += chunk

    def server_row(self, server="agent1", backend="edgeseal-agents"):
        """The server's line of "show stat" as a dict, or {}."""
        lines = self.admin("show stat").splitlines()
        if not lines:
            return {}
        cols = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(cols, line.split(",")))
            if row.get("pxname") == backend and row.get("svname") == server:
                return row
        return {}

    def server_status(self, server="agent1", backend="edgeseal-agents"):
        return self.server_row(server, backend).get("status")

    def wait_agent_state(self, state, timeout=10.0, server="agent1"):
        try:
            poll(lambda: (self.server_status(server) or "").startswith(state),
                 timeout, "agent %s %s" % (server, state))
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.diagnosis(server)))

    def diagnosis(self, server="agent1"):
        """What HAProxy and the agent say, for a failed wait: the server's
        last check, whether each process lives, the ends of their logs."""
        lines = []
        try:
            row = self.server_row(server)
            lines.append("%s: %s" % (server, ", ".join(
                "%s=%s" % (k, row.get(k)) for k in
                ("status", "check_status", "check_code", "check_duration",
                 "last_chk", "chkfail", "lastchg"))))
        except OSError as e:
            lines.append("admin socket: %s" % e)
        for proc in self.procs:
            code = proc.p.poll()
            lines.append("----- %s (%s) -----" % (
                proc.name, "running" if code is None else "exit %s" % code))
            lines.append(proc.log()[-1500:])
        return "\n".join(lines)

    # -- requests --

    def get(self, path="/api/x", headers=(), **kw):
        return request(self.front, path, headers, **kw)

    def stop(self):
        for proc in reversed(self.procs):
            proc.stop()
        if self.upstream:
            self.upstream.stop()
            self.upstream = None

    def remove(self):
        """Delete the test directory (logs included) unless asked to keep
        it with EDGESEAL_E2E_KEEP."""
        if os.environ.get("EDGESEAL_E2E_KEEP"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class StackTest(unittest.TestCase):
    """Base class: self.stack is fresh for each test and always stopped;
    on failure the processes' logs are printed."""

    def setUp(self):
        self.stack = Stack()
        self._problems_before = self._problem_count()
        self.addCleanup(self._cleanup)

    def _problem_count(self):
        """Failures and errors recorded so far. Python 3.11 records a
        failure straight into the result and leaves _outcome.success True
        while cleanups run, so the count is what tells."""
        result = getattr(self._outcome, "result", None)
        if result is None:
            return 0
        return len(result.failures) + len(result.errors)

    def _cleanup(self):
        failed = (not self._outcome.success or
                  self._problem_count() > self._problems_before)
        self.stack.stop()
        self.addCleanup(self.stack.remove)
        if failed or os.environ.get("EDGESEAL_E2E_VERBOSE"):
            for proc in self.stack.procs:
                print("----- %s -----\n%s" % (proc.name, proc.log()[-4000:]))
        # A sanitizer report from any of our programs fails the test, even
        # when every HTTP answer looked right.
        for proc in self.stack.procs:
            found = SANITIZER.search(proc.log())
            self.assertIsNone(found, "%s: %s" % (proc.name, found and
                                                  found.group(0)))

    # -- assertions shared by the tests --

    def assert_no_client_copies(self, rec, allowed=None):
        """rec is what the upstream saw; allowed maps folded name -> the one
        value HAProxy set (or None: the name must be absent)."""
        allowed = allowed or {}
        for name in PROTECTED:
            got = [(k, v) for k, v in rec["headers"] if fold(k) == name]
            want = allowed.get(name)
            if want is None:
                self.assertEqual(got, [], "client copy of %s reached "
                                 "upstream" % name)
            else:
                self.assertEqual(len(got), 1, "%s: %r" % (name, got))
                self.assertEqual(got[0][1], want)


def main():
    prog = unittest.main(verbosity=2, exit=False)
    result = prog.result
    if result.testsRun and len(result.skipped) == result.testsRun:
        sys.exit(SKIP)
    sys.exit(0 if result.wasSuccessful() else 1)
