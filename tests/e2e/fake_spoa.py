#!/usr/bin/python3
"""A fake SPOP agent for the end-to-end tests, good or deliberately broken.

It speaks just enough SPOP 2.0 (HELLO, health-check HELLO, NOTIFY, ACK,
DISCONNECT) to stand in for edgeseal-spoa, and can misbehave on purpose:

  good       answer like the real agent, from a fixed token table:
             "Bearer ok.<sub>" -> valid, sub, seal, iss, kid
             "Bearer bad.<reason>" -> reason; no header -> missing_token
  close      close the connection when a NOTIFY arrives
  empty      answer every NOTIFY with an ACK carrying no action
  malformed  answer with an ACK whose only action is truncated garbage
  partial    set valid=true, then a malformed action (HAProxy keeps what it
             applied before the bad one, so only valid is set)
  hang       never answer a NOTIFY
  badvalues  valid=true with a sub holding CR LF and a seal that is no JWS
  badseal    valid=true, a plain sub, a seal "abc!def!ghi" (three parts but
             not base64url)
  disconnect answer a NOTIFY with AGENT-DISCONNECT

Usage: fake_spoa.py --mode MODE [--port P] [--delay S] [--max-frame N]
Prints "listening PORT" on stdout once bound, then logs one line per event
on stderr, in the agent's format (event=notify conn=N sid=S fid=F
inflight=K), so tests can assert what HAProxy sent.
"""

import argparse
import base64
import socket
import struct
import sys
import threading
import time

T_HAPROXY_HELLO, T_HAPROXY_DISCONNECT, T_NOTIFY = 1, 2, 3
T_AGENT_HELLO, T_AGENT_DISCONNECT, T_ACK = 101, 102, 103
FIN = 1
SCOPE_TXN = 2

log_lock = threading.Lock()


def log(line):
    with log_lock:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def varint(v):
    if v < 240:
        return bytes([v])
    out = bytearray([(v & 0xFF) | 0xF0])
    v = (v - 240) >> 4
    while v >= 128:
        out.append((v & 0xFF) | 0x80)
        v = (v - 128) >> 7
    out.append(v)
    return bytes(out)


def read_varint(buf, pos):
    b = buf[pos]
    pos += 1
    if b < 240:
        return b, pos
    val, shift = b, 4
    while True:
        b = buf[pos]
        pos += 1
        val += b << shift
        shift += 7
        if b < 128:
            return val, pos


def read_string(buf, pos):
    n, pos = read_varint(buf, pos)
    return bytes(buf[pos:pos + n]), pos + n


def read_typed(buf, pos):
    t = buf[pos] & 0x0F
    flags = buf[pos] >> 4
    pos += 1
    if t == 0:
        return None, pos
    if t == 1:
        return bool(flags & 1), pos
    if t in (2, 3, 4, 5):
        return read_varint(buf, pos)
    if t == 6:
        return bytes(buf[pos:pos + 4]), pos + 4
    if t == 7:
        return bytes(buf[pos:pos + 16]), pos + 16
    if t in (8, 9):
        return read_string(buf, pos)
    raise ValueError("unknown type %d" % t)


def typed_str(s):
    if isinstance(s, str):
        s = s.encode()
    return b"\x08" + varint(len(s)) + s


def typed_uint32(v):
    return b"\x03" + varint(v)


def kv(name, typed):
    return varint(len(name)) + name.encode() + typed


def frame(ftype, sid, fid, payload):
    body = bytes([ftype]) + struct.pack(">I", FIN) + varint(sid) + \
        varint(fid) + payload
    return struct.pack(">I", len(body)) + body


def set_var(name, typed):
    return b"\x01\x03" + bytes([SCOPE_TXN]) + varint(len(name)) + \
        name.encode() + typed


def set_bool(name):
    return b"\x01\x03" + bytes([SCOPE_TXN]) + varint(len(name)) + \
        name.encode() + b"\x11"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_seal(sub):
    return "%s.%s.%s" % (b64(b'{"alg":"HS256","typ":"edgeseal+jwt"}'),
                         b64(('{"sub":"%s"}' % sub).encode()),
                         b64(b"not-a-real-mac-not-a-real-mac-xx"))


def decide(auth):
    """The good agent's answer for one Authorization value."""
    if auth is None:
        return set_var("reason", typed_str("missing_token"))
    text = auth.decode(errors="replace")
    if text.startswith("Bearer ok."):
        sub = text[len("Bearer ok."):]
        return (set_bool("valid") + set_var("sub", typed_str(sub)) +
                set_var("seal", typed_str(fake_seal(sub))) +
                set_var("iss", typed_str("https://idp.test/")) +
                set_var("kid", typed_str("rs1")))
    if text.startswith("Bearer bad."):
        return set_var("reason", typed_str(text[len("Bearer bad."):]))
    return set_var("reason", typed_str("malformed_token"))


def parse_notify(payload):
    """Return the dict of arguments of the first message."""
    pos = 0
    _, pos = read_string(payload, pos)
    nargs = payload[pos]
    pos += 1
    args = {}
    for _ in range(nargs):
        name, pos = read_string(payload, pos)
        value, pos = read_typed(payload, pos)
        args[name.decode()] = value
    return args


def parse_kv(payload):
    pos, out = 0, {}
    while pos < len(payload):
        name, pos = read_string(payload, pos)
        value, pos = read_typed(payload, pos)
        out[name.decode()] = value
    return out


class Conn:
    """One HAProxy connection: frames in, frames out, one lock to write."""

    counter = 0
    counter_lock = threading.Lock()

    def __init__(self, sock, opts):
        with Conn.counter_lock:
            Conn.counter += 1
            self.id = Conn.counter
        self.sock = sock
        self.opts = opts
        self.wlock = threading.Lock()
        self.inflight = 0

    def send(self, data):
        with self.wlock:
            self.sock.sendall(data)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def read_frame(self):
        head = self.recv_exact(4)
        if head is None:
            return None
        (n,) = struct.unpack(">I", head)
        body = self.recv_exact(n)
        if body is None:
            return None
        ftype = body[0]
        pos = 5
        sid, pos = read_varint(body, pos)
        fid, pos = read_varint(body, pos)
        return ftype, sid, fid, body[pos:]

    def hello(self, payload):
        items = parse_kv(payload)
        check = bool(items.get("healthcheck"))
        log("event=hello conn=%d healthcheck=%d" % (self.id, check))
        reply = (kv("version", typed_str("2.0")) +
                 kv("max-frame-size", typed_uint32(self.opts.max_frame)) +
                 kv("capabilities", typed_str("pipelining")))
        self.send(frame(T_AGENT_HELLO, 0, 0, reply))
        return not check

    def answer(self, sid, fid, args):
        mode = self.opts.mode
        if self.opts.delay:
            time.sleep(self.opts.delay)
        if mode == "good":
            actions = decide(args.get("auth"))
        elif mode == "empty":
            actions = b""
        elif mode == "malformed":
            actions = b"\x01\x03\x02\xff\xff\xff\x7f"
        elif mode == "partial":
            actions = set_bool("valid") + b"\x01\x03\x02\xff\xff\xff\x7f"
        elif mode == "badvalues":
            actions = (set_bool("valid") +
                       set_var("sub", typed_str("alice\r\nX-Internal-Call: "
                                                "true")) +
                       set_var("seal", typed_str("not a seal")))
        elif mode == "badseal":
            actions = (set_bool("valid") + set_var("sub", typed_str("alice")) +
                       set_var("seal", typed_str("abc!def!ghi")))
        else:
            return
        self.send(frame(T_ACK, sid, fid, actions))
        with self.wlock:
            self.inflight -= 1

    def notify(self, sid, fid, payload):
        args = parse_notify(payload)
        with self.wlock:
            self.inflight += 1
            inflight = self.inflight
        log("event=notify conn=%d sid=%d fid=%d inflight=%d auth=%s" %
            (self.id, sid, fid, inflight,
             "absent" if args.get("auth") is None else "present"))
        if self.opts.mode == "close":
            return False
        if self.opts.mode == "disconnect":
            msg = (kv("status-code", typed_uint32(99)) +
                   kv("message", typed_str("fake agent quits")))
            self.send(frame(T_AGENT_DISCONNECT, 0, 0, msg))
            return False
        if self.opts.mode == "hang":
            return True
        threading.Thread(target=self.answer, args=(sid, fid, args),
                         daemon=True).start()
        return True

    def run(self):
        try:
            self.loop()
        except (OSError, ValueError, IndexError) as e:
            log("event=error conn=%d error=%r" % (self.id, e))
        finally:
            log("event=close conn=%d" % self.id)
            self.sock.close()

    def loop(self):
        while True:
            fr = self.read_frame()
            if fr is None:
                return
            ftype, sid, fid, payload = fr
            if ftype == T_HAPROXY_HELLO:
                if not self.hello(payload):
                    return
            elif ftype == T_NOTIFY:
                if not self.notify(sid, fid, payload):
                    return
            elif ftype == T_HAPROXY_DISCONNECT:
                msg = (kv("status-code", typed_uint32(0)) +
                       kv("message", typed_str("bye")))
                self.send(frame(T_AGENT_DISCONNECT, 0, 0, msg))
                return


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="good",
                    choices=["good", "close", "empty", "malformed", "partial",
                             "hang", "badvalues", "badseal",
                             "disconnect"])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--max-frame", type=int, default=16380)
    opts = ap.parse_args()

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", opts.port))
    srv.listen(64)
    print("listening %d" % srv.getsockname()[1], flush=True)

    while True:
        sock, _ = srv.accept()
        conn = Conn(sock, opts)
        threading.Thread(target=conn.run, daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
