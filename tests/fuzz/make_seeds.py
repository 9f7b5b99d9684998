#!/usr/bin/env python3
"""make_seeds.py OUTDIR -- writes the seed corpora of the fuzz harnesses.

Run by `make fuzz-run` (seeds are generated, not committed, so the corpus
always matches the script formats of the harnesses):

OUTDIR/http1/*, OUTDIR/http2/*: connection scripts (tests/fuzz/fuzz_script.h:
flags byte, then ops: op byte with bit 0 = direction and bits 1-2 = kind
(0 feed, 2 gap, 3 eof), a length byte, data). Hand-written HTTP/1 seeds cover
one protocol behaviour each (framing, damage, pairing); the rest are the real
connections of the fixture captures (tests/fixtures/**.pcap), cut into
scripts by a small pcap reader below.
OUTDIR/sse/*: inputs for fuzz_sse.c (split byte, then an event stream).
OUTDIR/records/*: inputs for fuzz_records.c (flags, then target, request
body, response body separated by FF FE), taken from the fixtures' HTTP/1
exchanges plus hand-written Azure payloads.
OUTDIR/pcap/*: the fixture captures cut to their first 64 KiB of packets.
OUTDIR/config/*: packaging/llmtap.conf and small hand-written variants.
OUTDIR/proxy_h1/*: inputs for fuzz_proxy_h1.c (flags, split step and phase,
then one direction of a connection: requests or responses), hand-written
cases plus the fixtures' HTTP/1 connections."""
import glob
import os
import struct
import sys
import zlib

out = sys.argv[1] if len(sys.argv) > 1 else "corpus"
REQ, RESP = 0, 1
MISSED, SMALL, RESET, SPLIT = 1, 2, 4, 8


def feed(d, data):
    ops = b""
    for i in range(0, len(data), 255):
        part = data[i:i + 255]
        ops += bytes([d, len(part)]) + part
    return ops


def gap(d, n16):
    return bytes([d | 4, n16])


def eof(d):
    return bytes([d | 6])


def post(path, body, extra=b""):
    return b"POST " + path + b" HTTP/1.1\r\nHost: x\r\n" + extra + \
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


def ok(body, extra=b"", status=b"200 OK"):
    return b"HTTP/1.1 " + status + b"\r\n" + extra + b"Content-Length: " + \
        str(len(body)).encode() + b"\r\n\r\n" + body


def chunked(parts, trailer=b""):
    s = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n"
    for p in parts:
        s += b"%x;ext=1\r\n" % len(p) + p + b"\r\n"
    return s + b"0\r\n" + trailer + b"\r\n"


sse_body = (b'data: {"choices":[],"prompt_filter_results":[]}\r\n\r\n'
            b'data: {"choices":[{"delta":{"content":"hi"}}]}\r\n\r\n'
            b'data: [DONE]\r\n\r\n')
gz = zlib.compressobj(6, zlib.DEFLATED, 31)
gzbody = gz.compress(b'{"id":"chatcmpl-1","choices":[]}' * 20) + gz.flush()
raw = zlib.compressobj(6, zlib.DEFLATED, -15)
rawbody = raw.compress(b"a" * 20000) + raw.flush()

http1 = {
    "simple": bytes([SPLIT]) + feed(REQ, post(b"/a", b'{"x":1}')) + feed(RESP, ok(b"ok")),
    "pipelined": bytes([SPLIT]) + feed(REQ, b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n")
    + feed(RESP, ok(b"A") + ok(b"B") + ok(b"C")),
    "chunked_sse": bytes([SPLIT]) + feed(REQ, post(b"/c", b"{}")) + feed(RESP, chunked([sse_body[:40], sse_body[40:]], b"X-T: 1\r\n")),
    "close_delimited": bytes([SPLIT]) + feed(REQ, b"GET / HTTP/1.0\r\n\r\n") + feed(RESP, b"HTTP/1.0 200 OK\r\n\r\nuntil close") + eof(RESP),
    "nobody": bytes([SPLIT]) + feed(REQ, b"HEAD /h HTTP/1.1\r\n\r\nGET /n HTTP/1.1\r\n\r\nGET /m HTTP/1.1\r\n\r\n")
    + feed(RESP, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n"),
    "continue": bytes([SPLIT]) + feed(REQ, b"POST /u HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
    + feed(RESP, b"HTTP/1.1 100 Continue\r\n\r\n") + feed(REQ, b"data") + feed(RESP, ok(b"ok")),
    "early_response": bytes([SPLIT]) + feed(REQ, b"POST /u HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
    + feed(RESP, ok(b"", status=b"413 Too Large")) + feed(REQ, b"defghij"),
    "gzip": bytes([SPLIT]) + feed(REQ, b"GET / HTTP/1.1\r\n\r\n") + feed(RESP, ok(gzbody, b"Content-Encoding: gzip\r\n")),
    "raw_deflate": bytes([0]) + feed(REQ, b"GET / HTTP/1.1\r\n\r\n") + feed(RESP, ok(rawbody, b"Content-Encoding: deflate\r\n")),
    "small_caps": bytes([SMALL | SPLIT]) + feed(REQ, post(b"/big", b"b" * 200)) + feed(RESP, ok(b"r" * 300)),
    "gap_cl": bytes([0]) + feed(REQ, b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
    + feed(RESP, b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\nabc") + gap(RESP, 2) + feed(RESP, b"0123" + ok(b"ok")),
    "gap_chunked": bytes([0]) + feed(REQ, b"GET /1 HTTP/1.1\r\n\r\n")
    + feed(RESP, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab") + gap(RESP, 3)
    + feed(RESP, b"junk\r\n0\r\n\r\n") + feed(REQ, b"GET /2 HTTP/1.1\r\n\r\n") + feed(RESP, ok(b"ok")),
    "garbage": bytes([SPLIT]) + feed(REQ, b"\x16\x03\x01 not http\r\nGET /ok HTTP/1.1\r\n\r\n") + feed(RESP, ok(b"")),
    "missed_start": bytes([MISSED | SPLIT]) + feed(REQ, b'nt": "tail"}GET /next HTTP/1.1\r\n\r\n')
    + feed(RESP, b"tail\r\n\r\n" + ok(b"ok")),
    "reset_pending": bytes([RESET]) + feed(REQ, b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
    + feed(RESP, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
    "upgrade": bytes([SPLIT]) + feed(REQ, b"GET / HTTP/1.1\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
    + feed(RESP, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"),
}

sse = {
    "azure_crlf": b"\x03" + sse_body,
    "azure_lf": b"\x05" + sse_body.replace(b"\r\n", b"\n"),
    "cr_only": b"\x01" + sse_body.replace(b"\r\n", b"\r"),
    "fields": b"\x02\xef\xbb\xbf: comment\nevent: response.completed\nid: 7\nretry: 10\ndata\ndata: a\ndata:b\n\ndata: cut",
    "whole": b"\x00" + sse_body,
}

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def pcap_packets(path):
    """(ts, linktype, frame) of a classic little/big-endian pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    end = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    link = struct.unpack(end + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        yield sec * 1000000 + usec, link, data[off + 16:off + 16 + incl], off + 16 + incl
        off += 16 + incl


def tcp_of(link, fr):
    """(src, sport, dst, dport, seq, flags, payload) or None."""
    if link == 1:
        et, p = struct.unpack(">H", fr[12:14])[0], 14
        while et == 0x8100:
            et, p = struct.unpack(">H", fr[p + 2:p + 4])[0], p + 4
    elif link == 276:
        et, p = struct.unpack(">H", fr[0:2])[0], 20
    elif link == 113:
        et, p = struct.unpack(">H", fr[14:16])[0], 16
    else:
        return None
    if et == 0x0800:
        ihl = (fr[p] & 15) * 4
        if fr[p + 9] != 6:
            return None
        tot = struct.unpack(">H", fr[p + 2:p + 4])[0]
        src, dst, ip_end, p = fr[p + 12:p + 16], fr[p + 16:p + 20], p + tot, p + ihl
    elif et == 0x86DD:
        if fr[p + 6] != 6:
            return None
        plen = struct.unpack(">H", fr[p + 4:p + 6])[0]
        src, dst, ip_end, p = fr[p + 8:p + 24], fr[p + 24:p + 40], p + 40 + plen, p + 40
    else:
        return None
    sport, dport, seq = struct.unpack(">HHI", fr[p:p + 8])
    doff, flags = (fr[p + 12] >> 4) * 4, fr[p + 13]
    return src, sport, dst, dport, seq, flags, fr[p + doff:ip_end]


def connections(path):
    """Per TCP connection, the in-order payload chunks as (dir, bytes)."""
    conns, order = {}, []
    for _, link, fr, _ in pcap_packets(path):
        t = tcp_of(link, fr)
        if not t:
            continue
        src, sport, dst, dport, seq, flags, pl = t
        key = tuple(sorted([(src, sport), (dst, dport)]))
        c = conns.get(key)
        if c is None:
            c = conns[key] = {"client": (src, sport), "next": {}, "chunks": []}
            order.append(key)
        if flags & 0x12 == 0x02:
            c["client"] = (src, sport)
        d = 0 if (src, sport) == c["client"] else 1
        nxt = c["next"]
        if flags & 0x02:
            nxt[d] = (seq + 1) & 0xffffffff
            continue
        if not pl:
            continue
        if d not in nxt:
            nxt[d] = seq
        if seq != nxt[d]:
            continue  # retransmission or reordering: the seeds need not be exact
        nxt[d] = (seq + len(pl)) & 0xffffffff
        c["chunks"].append((d, pl))
    return [conns[k]["chunks"] for k in order]


def script(chunks, flags=0, limit=65536):
    s = bytes([flags])
    for d, pl in chunks:
        s += feed(d, pl)
        if len(s) > limit:
            break
    return s


def http1_exchange(chunks):
    """(target, request body, response body) of the first exchange, or None."""
    req = b"".join(p for d, p in chunks if d == 0)
    resp = b"".join(p for d, p in chunks if d == 1)
    try:
        qh, qb = req.split(b"\r\n\r\n", 1)
        rh, rb = resp.split(b"\r\n\r\n", 1)
        target = qh.split(b"\r\n")[0].split(b" ")[1]
        cl = [int(l.split(b":")[1]) for l in qh.split(b"\r\n") if l.lower().startswith(b"content-length:")]
        qb = qb[:cl[0]] if cl else b""
        if b"chunked" in rh.lower():
            out, rest = b"", rb
            while True:
                size_line, rest = rest.split(b"\r\n", 1)
                n = int(size_line.split(b";")[0], 16)
                if n == 0:
                    break
                out, rest = out + rest[:n], rest[n + 2:]
            rb = out
        else:
            cl = [int(l.split(b":")[1]) for l in rh.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            rb = rb[:cl[0]] if cl else rb
        return target, qb, rb, b"text/event-stream" in rh
    except (ValueError, IndexError):
        return None


pcaps = sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/**/*.pcap"), recursive=True))
http2, records, pcap = {}, {}, {}
for path in pcaps:
    base = os.path.splitext(os.path.basename(path))[0]
    for i, chunks in enumerate(connections(path)):
        if not chunks:
            continue
        is_h2 = chunks[0][1].startswith(b"PRI * HTTP/2.0") or any(b"Upgrade: h2c" in p for _, p in chunks[:1])
        (http2 if is_h2 else http1)["%s_%d" % (base, i)] = script(chunks, SPLIT if i % 2 else 0)
        if not is_h2:
            ex = http1_exchange(chunks)
            if ex:
                target, qb, rb, streamed = ex
                records["%s_%d" % (base, i)] = bytes([16 | (1 if streamed else 0)]) + \
                    target + b"\xff\xfe" + qb + b"\xff\xfe" + rb
    with open(path, "rb") as f:
        raw = f.read()
    cut = 24
    for _, _, _, end in pcap_packets(path):
        if end > 65536:
            break
        cut = end
    pcap[base] = raw[:cut]

AZ = b"/openai/deployments/gpt-4o/"
records.update({
    "chat_stream": bytes([1 | 16]) + AZ + b"chat/completions?api-version=2024-10-21\xff\xfe"
    b'{"messages":[{"role":"user","content":"hi"}],"stream":true}\xff\xfe' + sse_body,
    "embeddings": bytes([16]) + AZ + b"embeddings?api-version=2024-10-21\xff\xfe"
    b'{"input":["a","b"]}\xff\xfe{"data":[{"embedding":[0.1,0.2],"index":0}],"usage":{"prompt_tokens":2}}',
    "responses": bytes([1]) + b"/openai/v1/responses\xff\xfe{\"input\":\"x\",\"stream\":true}\xff\xfe"
    b"event: response.completed\ndata: {\"response\":{\"usage\":{\"input_tokens\":1}}}\n\n",
    "throttled": bytes([2 | 16]) + AZ + b"chat/completions?api-key=abc&api-version=1\xff\xfe{}\xff\xfe"
    b'{"error":{"code":"429","message":"Rate limit"}}\xff\xfeRetry-After: 3',
    "empty_choices": bytes([16]) + AZ + b"chat/completions\xff\xfe{\"tools\":[]}\xff\xfe{\"choices\":[]}",
})

conf_path = os.path.join(ROOT, "packaging/llmtap.conf")
config = {
    "shipped": open(conf_path, "rb").read() if os.path.exists(conf_path) else b"",
    "small": b"[capture]\ninterface = eth1, eth2\nserver_ports = 80, 8080\nbody_cap = 1M\n"
             b"[store]\npath = /tmp/x.db\n[log]\nlevel = debug\n",
    "upload": b"[upload]\nendpoint = https://x.ingest.monitor.azure.com\nauth = client_secret\n"
              b"tenant_id = t\nclient_id = c\nclient_secret = s\n",
}

# proxy_h1: flags (bit 0 responses, bit 1 the request was HEAD, bits 2-7 a
# request body limit in 64-byte units), split step, split phase, then one
# connection's bytes in one direction: hand-written cases (each rule of
# proxy/h1_frame.c) and the fixtures' HTTP/1 connections.
def ph1(data, flags=0, step=0, phase=0):
    return bytes([flags, step, phase]) + data


proxy_h1 = {
    "get": ph1(b"GET /openai/models HTTP/1.1\r\nHost: x\r\n\r\n"),
    "post_len": ph1(post(b"/openai/deployments/d/chat/completions?api-version=1", b'{"messages":[]}'), 0, 5, 1),
    "pipelined": ph1(b"GET /1 HTTP/1.1\r\n\r\n" + post(b"/2", b"ab") + b"GET /3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, 3),
    "chunked": ph1(b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nabcd\r\n1 \r\ne\r\n0\r\nX-T: 1\r\n\r\n"
                   b"GET /n HTTP/1.1\r\n\r\n", 0, 7, 2),
    "chunked_lf": ph1(b"POST /c HTTP/1.1\nTransfer-Encoding: gzip, chunked\n\n3\nabc\n0\n\n", 0, 1),
    "expect": ph1(b"POST /u HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata"),
    "te_and_len": ph1(b"POST /s HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "te_gzip": ph1(b"POST /g HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
    "bad_len": ph1(b"POST /b HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
    "bad_len2": ph1(b"POST /b HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n"),
    "len_plus": ph1(b"POST /p HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc"),
    "len_20_digits": ph1(b"POST /p HTTP/1.1\r\nContent-Length: 00000000000000000003\r\n\r\nabc"),
    "over_limit": ph1(post(b"/big", b"x" * 200), 4 << 2),
    "chunk_over_limit": ph1(b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + b"y" * 64 + b"\r\n41\r\n", 1 << 2, 9),
    "bad_chunk": ph1(b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    "no_crlf_after_chunk": ph1(b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n"),
    "long_trailer": ph1(b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " + b"t" * 200 + b"\r\n\r\n", 0, 11),
    "bad_line": ph1(b"GET / HTTP/2.0\r\n\r\n"),
    "bad_uri": ph1(b"GET x HTTP/1.1\r\n\r\n"),
    "bad_field": ph1(b"GET / HTTP/1.1\r\n folded: x\r\n\r\n"),
    "resp_len": ph1(ok(b'{"choices":[]}') + ok(b"", status=b"404 Not Found"), 1, 4),
    "resp_chunked": ph1(chunked([sse_body[:40], sse_body[40:]], b"X-T: 1\r\n"), 1, 6, 3),
    "resp_continue": ph1(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok(b"ok"), 1, 2),
    "resp_nobody": ph1(b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", 1),
    "resp_head": ph1(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n" + ok(b"x"), 3),
    "resp_close": ph1(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nuntil the end", 1, 5),
    "resp_bad_status": ph1(b"HTTP/1.1 2x0 OK\r\n\r\n", 1),
    "resp_bad_len": ph1(b"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", 1),
    "resp_long_trailer": ph1(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX: " + b"t" * 300 + b"\r\n\r\n", 1, 13),
    "resp_bad_chunk": ph1(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 1),
}
for path in pcaps:
    base = os.path.splitext(os.path.basename(path))[0]
    for i, chunks in enumerate(connections(path)):
        if not chunks or chunks[0][1].startswith(b"PRI * HTTP/2.0") or any(b"Upgrade: h2c" in p for _, p in chunks[:1]):
            continue
        for d in (REQ, RESP):
            data = b"".join(p for dd, p in chunks if dd == d)[:65536]
            if data:
                proxy_h1["%s_%d_%s" % (base, i, "resp" if d else "req")] = ph1(data, d, (i * 7) % 32, i % 5)

for name, corpus in (("http1", http1), ("http2", http2), ("sse", sse), ("records", records),
                     ("pcap", pcap), ("config", config), ("proxy_h1", proxy_h1)):
    os.makedirs(os.path.join(out, name), exist_ok=True)
    for k, v in corpus.items():
        with open(os.path.join(out, name, k), "wb") as f:
            f.write(v)
