#!/usr/bin/env python3
"""hostile_capture.py PCAP SECRETS [SEED] -- writes a capture of hostile HTTP/1.1
calls to an Azure OpenAI endpoint, and the secret values they carry (one per
line) to SECRETS.
hostile_capture.py --attack KIND PCAP -- writes a resource-exhaustion capture
for measuring peak RSS and CPU of `llmtap replay` (tests/fuzz/bench_attacks.sh):
  hpack   HTTP/2: a 4000-byte header-table entry referenced by 1-byte indexes
          in HEADERS + CONTINUATION frames, 20 streams (about 270 KB)
  gzip    HTTP/1.1: 20 requests and responses with "Content-Encoding: gzip,
          gzip" bodies that inflate to 1 GiB each (about 2 KB each)
  resync  HTTP/1.1: 64 KB segments (loopback MTU) of malformed messages, 50 connections
hostile_capture.py --custom PCAP -- writes calls carrying secrets under names
that are not built in (tests/integration/redact_config.sh: [records]
redact_headers, redact_query_params, redact_body_fields): an X-My-Secret
header, a my_sig query parameter and a JSON my_token field, on a chat call and
on an unmodelled /openai call whose 400 error body echoes them.

Used by tests/integration/hostile_records.sh: every call is what a client
behind the gateway could send, and none of it may break a record or leak a
secret:
  - an api-key sent only in the query string (the record's KeyFingerprint
    must still be set);
  - X-Api-Key, a Bearer token, form-encoded client_secret, a JSON api_key
    field, a SAS sig= in the query;
  - a 401 error body echoing the caller's key;
  - bodies of arbitrary bytes from a seeded generator (NUL, invalid UTF-8,
    control characters, broken JSON) on modelled and unmodelled paths, so
    every record the agent makes is uploaded and none may be quarantined.
Times are fixed (2026-11-22), never today's date. Ethernet/IPv4/TCP with a
handshake and FINs, segments of at most 1400 bytes."""
import random
import struct
import sys
import zlib

ATTACK = sys.argv[2] if sys.argv[1] == "--attack" else "custom" if sys.argv[1] == "--custom" else None
out = sys.argv[2] if ATTACK == "custom" else sys.argv[3] if ATTACK else sys.argv[1]
secrets_path = None if ATTACK else sys.argv[2]
rng = random.Random(int(sys.argv[3]) if not ATTACK and len(sys.argv) > 3 else 11)
T0 = 1795350000  # 2026-11-22, a fixed capture time

KEY_QUERY = "qk-" + "7f3a9c1e5b2d4f6a8c0e" * 2
KEY_HEADER = "hk-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
X_API_KEY = "xk-5566778899aabbccddeeff0011223344"
BEARER = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJlLXZhbHVl"
FORM_SECRET = "fs-client-secret-Zx9Yw8Vu7Ts6"
JSON_SECRET = "js-api-key-Qq1Ww2Ee3Rr4Tt5"
SAS_SIG = "c2FzLXNpZ25hdHVyZS12YWx1ZS0xMjM0NQ"
SECRETS = [KEY_QUERY, KEY_HEADER, X_API_KEY, BEARER, FORM_SECRET, JSON_SECRET, SAS_SIG]

packets = []
clock = [0]


def ip_sum(h):
    s = sum(struct.unpack("!10H", h))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def packet(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6, 0,
                     bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", ip_sum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    clock[0] += 1000
    packets.append((clock[0], eth + ip + tcp + payload))


def connection(port, request, response, mss=1400):
    c, s = [10, 0, 0, 1], [10, 0, 0, 2]
    cseq, sseq = 1000, 5000
    packet(c, s, port, 8080, cseq, 0, 0x02)
    packet(s, c, 8080, port, sseq, cseq + 1, 0x12)
    cseq += 1
    sseq += 1
    packet(c, s, port, 8080, cseq, sseq, 0x10)
    for data, fwd in ((request, True), (response, False)):
        for i in range(0, len(data), mss):
            seg = data[i:i + mss]
            if fwd:
                packet(c, s, port, 8080, cseq, sseq, 0x18, seg)
                cseq += len(seg)
            else:
                packet(s, c, 8080, port, sseq, cseq, 0x18, seg)
                sseq += len(seg)
    packet(c, s, port, 8080, cseq, sseq, 0x11)
    packet(s, c, 8080, port, sseq, cseq + 1, 0x11)
    packet(c, s, port, 8080, cseq + 1, sseq + 1, 0x10)


def post(path, body, headers=(), ctype="application/json"):
    h = "POST %s HTTP/1.1\r\nHost: aoai.example\r\nContent-Type: %s\r\n" % (path, ctype)
    for k, v in headers:
        h += "%s: %s\r\n" % (k, v)
    return (h + "Content-Length: %d\r\n\r\n" % len(body)).encode() + body


def resp(status, body, ctype="application/json"):
    return ("HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (status, ctype, len(body))).encode() + body


def write_pcap(path):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, p in packets:
            f.write(struct.pack("<IIII", T0 + t // 1000000, t % 1000000, len(p), len(p)) + p)


def h2frame(t, fl, sid, pl):
    return len(pl).to_bytes(3, "big") + bytes([t, fl]) + sid.to_bytes(4, "big") + pl


def attack_hpack():
    c = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + h2frame(4, 0, 0, b"") + h2frame(4, 1, 0, b"")
    s = h2frame(4, 0, 0, b"") + h2frame(4, 1, 0, b"")
    for sid in range(1, 41, 2):
        blk = b"\x83\x86\x84" + (b"\x40\x03x-a\x7f\xa1\x1e" + b"v" * 4000 if sid == 1 else b"")
        c += h2frame(1, 0, sid, blk)
        for i in range(3):
            c += h2frame(9, 4 if i == 2 else 0, sid, b"\xbe" * 4096)
        c += h2frame(0, 1, sid, b"{}")
        s += h2frame(1, 5, sid, b"\x88")
    connection(41000, c, s)


def gz(b):
    z = zlib.compressobj(9, zlib.DEFLATED, 31, 9)
    return z.compress(b) + z.flush()


def attack_gzip():
    z1 = gz(b"\0" * (1 << 30))
    bomb = gz(z1)
    for i in range(20):
        connection(42000 + i, post(CHAT, bomb, [("Content-Encoding", "gzip, gzip")]),
                   resp("200 OK", bomb).replace(b"Content-Type", b"Content-Encoding: gzip, gzip\r\nContent-Type"))


def attack_resync():
    bad = b"HTTP/1.1 200 \r\nContent-Length: x\r\n\r\n"
    for i in range(50):
        connection(43000 + i, b"GET /a HTTP/1.1\r\n\r\n" * 4, bad * (65000 // len(bad)), 65000)


def custom_names():
    hdr, sig, tok = "s3cr3tvalue", "my-sig-value-8877", "my-token-value-4411"
    body = ('{"messages":[{"role":"user","content":"hi"}],"my_token":"%s"}' % tok).encode()
    connection(44000, post(CHAT + "&my_sig=" + sig, body, [("X-My-Secret", hdr), ("api-key", KEY_HEADER)]),
               resp("200 OK", OK))
    connection(44001, post("/openai/deployments/gpt-4o/things?api-version=1&my_sig=" + sig,
                           ('{"n":1,"auth":{"my_token":"%s"}}' % tok).encode(), [("X-My-Secret", hdr)]),
               resp("400 Bad Request", ('{"error":{"message":"echo %s, %s and %s"}}' % (hdr, tok, sig)).encode()))


CHAT = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
OK = b'{"id":"c1","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},' \
     b'"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}'
if ATTACK:
    {"hpack": attack_hpack, "gzip": attack_gzip, "resync": attack_resync, "custom": custom_names}[ATTACK]()
    write_pcap(out)
    sys.exit(0)
port = 40000
connection(port, post(CHAT + "&api-key=" + KEY_QUERY, b'{"messages":[{"role":"user","content":"hi"}]}'),
           resp("200 OK", OK))
port += 1
connection(port, post("/openai/deployments/gpt-4o/extensions/files?api-version=1",
                      ("grant_type=client_credentials&client_secret=%s&scope=x" % FORM_SECRET).encode(),
                      [("X-Api-Key", X_API_KEY)], "application/x-www-form-urlencoded"),
           resp("401 Unauthorized", ('{"error":{"code":"401","message":"Access denied: key %s is not valid"}}'
                                     % X_API_KEY).encode()))
port += 1
connection(port, post("/openai/deployments/gpt-4o/things?api-version=1", ('{"api_key":"%s","n":1}' % JSON_SECRET).encode(),
                      [("api-key", KEY_HEADER)]),
           resp("400 Bad Request", ('{"error":{"message":"echo %s and %s"}}' % (KEY_HEADER, JSON_SECRET)).encode()))
port += 1
connection(port, post("/openai/deployments/gpt-4o/embeddings?api-version=1&sv=2024-01-01&sig=" + SAS_SIG,
                      b'{"input":"x"}', [("Authorization", "Bearer " + BEARER)]),
           resp("403 Forbidden", ('{"error":{"code":"403","message":"token %s rejected"}}' % BEARER).encode()))
# arbitrary bytes: NUL, invalid UTF-8, control characters, broken JSON, on modelled and other paths
paths = [CHAT, "/openai/deployments/gpt-4o/other?api-version=1", "/openai/v1/responses", "/healthz"]
for i in range(24):
    port += 1
    n1, n2 = rng.randrange(0, 600), rng.randrange(0, 600)
    b1 = bytes(rng.randrange(256) for _ in range(n1))
    b2 = bytes(rng.choice(b'\x00{}":,[]ab\xff\xc3\x28\n\r\\u') for _ in range(n2))
    if i % 3 == 0:
        b2 = b'{"choices":[{"message":{"content":"a\x00b\\u0000c"}}],"usage":{"prompt_tokens":1}}'
    if i % 4 == 1:
        b1 = b'{"messages":[{"role":"user","content":"nul \\u0000 and raw \x00 here"}]}'
    connection(port, post(paths[i % 4] + ("&api-key=" + KEY_QUERY if i % 5 == 0 and "?" in paths[i % 4] else ""), b1),
               resp("200 OK", b2, "text/plain" if i % 2 else "application/json"))

write_pcap(out)
with open(secrets_path, "w") as f:
    f.write("\n".join(SECRETS) + "\n")
