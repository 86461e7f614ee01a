"""spopwire.py: the HAProxy side of SPOP 2.0 for the attack tests.

Builds HAProxy-side frames (HELLO, NOTIFY, DISCONNECT) and decodes what
the agent answers. The primitives (varints, typed data) come from the
end-to-end tests' fake agent (tests/e2e/fake_spoa.py); both are written
from SPOE.txt section 3, independently of the C codec, so they check it.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
from fake_spoa import read_typed, read_varint, varint  # noqa: E402,F401

HAPROXY_HELLO, HAPROXY_DISCONNECT, NOTIFY = 1, 2, 3
AGENT_HELLO, AGENT_DISCONNECT, ACK = 101, 102, 103
FIN = 1


def bstr(s):
    if isinstance(s, str):
        s = s.encode()
    return varint(len(s)) + s


def t_string(s):
    return b"\x08" + bstr(s)


def t_uint(v):
    return b"\x03" + varint(v)


def t_bool(v):
    return b"\x11" if v else b"\x01"


def frame(ftype, sid, fid, payload, flags=FIN):
    body = bytes([ftype]) + struct.pack(">I", flags) + varint(sid) + \
        varint(fid) + payload
    return struct.pack(">I", len(body)) + body


def hello(versions="2.0", size=16380, caps="pipelining,async",
          healthcheck=False, size_key="max-frame-size"):
    kv = b""
    if versions is not None:
        kv += bstr("supported-versions") + t_string(versions)
    if size is not None:
        kv += bstr(size_key) + t_uint(size)
    kv += bstr("capabilities") + t_string(caps)
    if healthcheck:
        kv += bstr("healthcheck") + t_bool(True)
    else:
        kv += bstr("engine-id") + t_string("a7c1e8a2-0000-4000-8000-000000000001")
    return frame(HAPROXY_HELLO, 0, 0, kv)


def check_message(auth, name="edgeseal-check"):
    args = [(b"src", b"\x06\x7f\x00\x00\x01")]
    if auth is not None:
        args.append((b"auth", t_string(auth)))
    out = bstr(name) + bytes([len(args)])
    for n, v in args:
        out += bstr(n) + v
    return out


def notify(sid, fid, auth, name="edgeseal-check"):
    return frame(NOTIFY, sid, fid, check_message(auth, name))


def disconnect(status=0, message="bye"):
    kv = bstr("status-code") + t_uint(status) + bstr("message") + \
        t_string(message)
    return frame(HAPROXY_DISCONNECT, 0, 0, kv)


def read_data(buf, pos):
    """TYPED-DATA at pos; STRING values come back as str."""
    is_string = buf[pos] & 0x0F == 8
    val, pos = read_typed(buf, pos)
    return (val.decode() if is_string else val), pos


class Frame:
    def __init__(self, body):
        self.type = body[0]
        self.flags = struct.unpack(">I", body[1:5])[0]
        self.sid, pos = read_varint(body, 5)
        self.fid, pos = read_varint(body, pos)
        self.payload = body[pos:]
        self.size = len(body)

    def kv(self):
        out, pos, p = {}, 0, self.payload
        while pos < len(p):
            n, pos = read_varint(p, pos)
            key = p[pos:pos + n].decode()
            pos += n
            out[key], pos = read_data(p, pos)
        return out

    def actions(self):
        """ACK actions as {name: value} (unset-var -> name: 'UNSET')."""
        out, pos, p = {}, 0, self.payload
        while pos < len(p):
            atype, nb, scope = p[pos], p[pos + 1], p[pos + 2]
            assert scope == 2, scope
            pos += 3
            n, pos = read_varint(p, pos)
            name = p[pos:pos + n].decode()
            pos += n
            if atype == 2:
                assert nb == 2
                out[name] = "UNSET"
            else:
                assert atype == 1 and nb == 3
                out[name], pos = read_data(p, pos)
        return out


class Reader:
    """Splits a byte stream into frames."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def frame(self):
        """The next frame, or None on EOF/reset before a whole frame."""
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    body = self.buf[4:4 + n]
                    self.buf = self.buf[4 + n:]
                    return Frame(body)
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                return None
            if not data:
                return None
            self.buf += data

    def eof(self):
        """True when the peer closed with nothing more to read."""
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            return True
        self.buf += data
        return data == b""
