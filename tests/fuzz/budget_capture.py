#!/usr/bin/env python3
"""budget_capture.py PCAP [CONNS] [BODY_KB] -- writes the capture that attacks
the global parser memory budget (issue 11 item 7): CONNS connections (default
500) each POST a BODY_KB KiB request body (default 512), all at once: every
request head first, then the bodies round-robin in 8 KiB segments, so every
body is in flight at the same time (CONNS x BODY_KB in parser memory without
a global budget), then every 200 response. Used by
tests/integration/attack_memory.sh with a small [capture] memory_budget.
Ethernet/IPv4/TCP with handshakes and FINs; times fixed (2026-11-22)."""
import struct
import sys

out = sys.argv[1]
CONNS = int(sys.argv[2]) if len(sys.argv) > 2 else 500
BODY = (int(sys.argv[3]) if len(sys.argv) > 3 else 512) * 1024
SEG = 8192
T0 = 1795350000
SRV = bytes([10, 0, 0, 1])

f = open(out, "wb")
f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
tick = [0]


def pkt(src, sport, dst, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 64, 6, 0, src, dst)
    frame = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00" + ip + tcp + payload
    tick[0] += 1
    t = T0 * 1000000 + tick[0] * 10
    f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(frame), len(frame)))
    f.write(frame)


SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
conns = []
for i in range(CONNS):
    cli = bytes([10, 1, (i >> 8) & 255, i & 255])
    port = 40000 + i % 20000
    c = {"cli": cli, "port": port, "cseq": 1000, "sseq": 5000}
    pkt(cli, port, SRV, 80, c["cseq"], 0, SYN)
    pkt(SRV, 80, cli, port, c["sseq"], c["cseq"] + 1, SYN | ACK)
    c["cseq"] += 1
    c["sseq"] += 1
    conns.append(c)


def send(c, data):
    pkt(c["cli"], c["port"], SRV, 80, c["cseq"], c["sseq"], PSH | ACK, data)
    c["cseq"] += len(data)


for i, c in enumerate(conns):
    head = ("POST /openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21 HTTP/1.1\r\n"
            "Host: aoai.example.com\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % BODY).encode()
    send(c, head)
chunk = b'{"messages":[{"role":"user","content":"' + b"x" * (SEG - 40) + b'"}]}'
chunk = chunk[:SEG]
for off in range(0, BODY, SEG):
    for c in conns:
        send(c, chunk[: min(SEG, BODY - off)])
resp_body = b'{"id":"c1","object":"chat.completion","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'
for c in conns:
    resp = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(resp_body) + resp_body
    pkt(SRV, 80, c["cli"], c["port"], c["sseq"], c["cseq"], PSH | ACK, resp)
    c["sseq"] += len(resp)
    pkt(c["cli"], c["port"], SRV, 80, c["cseq"], c["sseq"], FIN | ACK)
    pkt(SRV, 80, c["cli"], c["port"], c["sseq"], c["cseq"] + 1, FIN | ACK)
    pkt(c["cli"], c["port"], SRV, 80, c["cseq"] + 1, c["sseq"] + 1, ACK)
f.close()
