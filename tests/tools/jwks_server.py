#!/usr/bin/python3
"""A JWKS endpoint for edgeseal's tests: serves a key set that the test can
rotate, and misbehaves on demand. Standard library only.

From Python (tests/e2e/test_jwks_url.py):

    srv = jwks_server.JwksServer()          # 127.0.0.1, a free port
    srv.set_keys([jwk, ...], max_age=2)     # what GET /jwks.json returns
    srv.mode = "500"                        # see MODES
    srv.url                                 # http://127.0.0.1:PORT/jwks.json
    srv.hits                                # GET requests answered so far
    srv.stop()                              # "go away": the port closes

Command line (manual testing):

    jwks_server.py --jwks FILE [--port N] [--mode ok] [--max-age S]
        prints "listening PORT" and serves FILE until interrupted.
"""

import argparse
import http.server
import json
import sys
import threading
import time

MODES = {
    "ok": "the current key set, with Cache-Control: max-age",
    "500": "HTTP 500 with a short text body",
    "garbage": "HTTP 200 with a body that is not JSON",
    "empty": "HTTP 200 with {\"keys\": []}",
    "huge": "HTTP 200 with a 2 MiB body (over the agent's 1 MiB cap)",
    "slow": "the key set, after a delay longer than the agent's timeout",
}


class JwksServer:
    def __init__(self, port=0, slow_delay=8.0):
        self.body = b'{"keys": []}'
        self.max_age = None
        self.mode = "ok"
        self.hits = 0
        self.slow_delay = slow_delay
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with outer.lock:
                    outer.hits += 1
                    mode, body, age = outer.mode, outer.body, outer.max_age
                if self.path != "/jwks.json":
                    return self.reply(404, b"not found", "text/plain")
                if mode == "500":
                    return self.reply(500, b"oops", "text/plain")
                if mode == "garbage":
                    return self.reply(200, b"<html>not a key set",
                                      "application/json")
                if mode == "empty":
                    return self.reply(200, b'{"keys": []}',
                                      "application/json")
                if mode == "huge":
                    pad = b" " * (2 * 1024 * 1024)
                    return self.reply(200, b'{"keys": []' + pad + b"}",
                                      "application/json")
                if mode == "slow":
                    # Bounded by stop(): a stopping server answers at once.
                    outer.stopping.wait(outer.slow_delay)
                self.reply(200, body, "application/json", age)

            def reply(self, status, body, ctype, max_age=None):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    if max_age is not None:
                        self.send_header("Cache-Control",
                                         "public, max-age=%d" % max_age)
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass    # the client gave up (timeouts, size cap)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass

        self.server = Server(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/jwks.json" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def set_keys(self, keys, max_age=None):
        with self.lock:
            self.body = json.dumps({"keys": keys}).encode()
            self.max_age = max_age

    def set_mode(self, mode):
        if mode not in MODES:
            raise ValueError(mode)
        with self.lock:
            self.mode = mode

    def hit_count(self):
        with self.lock:
            return self.hits

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jwks", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", default="ok", choices=sorted(MODES))
    ap.add_argument("--max-age", type=int)
    args = ap.parse_args(argv)
    with open(args.jwks) as f:
        keys = json.load(f)["keys"]
    srv = JwksServer(args.port)
    srv.set_keys(keys, args.max_age)
    srv.set_mode(args.mode)
    print("listening %d" % srv.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
