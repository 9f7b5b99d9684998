#!/usr/bin/python3
"""hpack_gen.py -- HTTP/2 byte streams encoded by an independent HPACK encoder
(python3-hpack), for the cross-check in tests/integration/hpack_crosscheck.sh.

Writes OUT.client (preface, SETTINGS, one HEADERS(+CONTINUATION) block per
request stream), OUT.server (SETTINGS, a response per stream) and
OUT.expected.json (the request headers of each stream, in order, as encoded).
Covers Huffman and raw literals, indexed fields, never-indexed (sensitive)
fields, table evictions under a small table, and dynamic table size updates
(shrink, then grow after the server's SETTINGS_HEADER_TABLE_SIZE)."""
import json
import struct
import sys
from hpack import Encoder
from hpack.struct import HeaderTuple, NeverIndexedHeaderTuple

out = sys.argv[1]


def frame(ftype, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


enc = Encoder()
server_enc = Encoder()
client = bytearray(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b""))
# the server allows a bigger table for the client's encoder
server = bytearray(frame(4, 0, 0, struct.pack(">HI", 1, 8192)) + frame(4, 1, 0, b""))
expected = []
sid = 1
cases = []
for i in range(40):
    h = [(":method", "POST"), (":scheme", "http"), (":path", f"/openai/deployments/d{i % 3}/chat/completions?api-version=2024-10-21"),
         (":authority", "aoai.example.com"), ("content-type", "application/json"),
         ("x-ms-client-request-id", f"req-{i:04d}-" + "x" * (i * 7 % 50)),
         ("user-agent", "hpack-crosscheck/1.0 " + "한국어" * (i % 3))]
    if i % 4 == 0:
        h.append(NeverIndexedHeaderTuple("api-key", f"secret-{i}"))
    if i % 5 == 1:
        h.append(HeaderTuple("x-large", "L" * (3000 + 400 * i)))  # evicts, and needs CONTINUATION
    cases.append((h, i % 2 == 0))
for i, (h, huff) in enumerate(cases):
    if i == 10:
        enc.header_table_size = 256      # size update: shrink, many evictions
    if i == 25:
        enc.header_table_size = 8192     # size update: grow (allowed by the server's SETTINGS)
    block = enc.encode(h, huffman=huff)
    parts = [block[k:k + 4000] for k in range(0, len(block), 4000)] or [b""]
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if k == 0:
            client += frame(1, 0x1 | (0x4 if last else 0), sid, part)     # HEADERS, END_STREAM
        else:
            client += frame(9, 0x4 if last else 0, sid, part)             # CONTINUATION
    expected.append({"stream": sid, "headers": [[str(n), str(v)] for n, v in h if not str(n).startswith(":")],
                     "path": dict((str(n), str(v)) for n, v in h)[":path"]})
    resp = server_enc.encode([(":status", "200"), ("x-request-id", f"r{sid}")])
    server += frame(1, 0x5, sid, resp)
    sid += 2
open(out + ".client", "wb").write(client)
open(out + ".server", "wb").write(server)
json.dump(expected, open(out + ".expected.json", "w"), ensure_ascii=False)
