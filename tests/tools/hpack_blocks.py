#!/usr/bin/python3
"""hpack_blocks.py -- HPACK header blocks from an independent encoder (python3-hpack).

llmtap decodes header blocks with libnghttp2's inflater; this script encodes
header sets with the pure-Python `hpack` package (Debian: python3-hpack) so
the block-level cross-check (tests/integration/hpack_blocks.sh ->
build/tests/tools/hpack_decode) proves that what one encoder wrote is decoded
by llmtap exactly as it was encoded: names, values (bytes) and the
never-indexed flag, across Huffman and raw literals, indexed fields, table
evictions with small tables and dynamic table size updates.

    hpack_blocks.py OUT.json [SEED]

Output: {"cases": [{"name", "settings_max", "blocks": [{"hex", "headers":
[[name_hex, value_hex, never_indexed], ...]}], "expect_error": bool}]}.
The headers listed are the encoder's INPUT, never a decode by Python.
"""
import json
import random
import sys

import hpack

REQ = [(':method', 'POST'), (':scheme', 'https'), (':authority', 'aoai-eastus2.openai.azure.com'),
       (':path', '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21'),
       ('content-type', 'application/json'), ('user-agent', 'AzureOpenAI/JS 4.104.0'),
       ('accept', 'application/json'), ('x-ms-client-request-id', 'c0ffee00-0000-4000-8000-000000000001')]
RESP = [(':status', '200'), ('content-type', 'application/json'), ('x-ms-region', 'East US 2'),
        ('apim-request-id', '6f1c2a9e-3b7d-4e0f-9a8b-1c2d3e4f5a6b'), ('x-ratelimit-remaining-tokens', '89963'),
        ('x-ratelimit-remaining-requests', '899'), ('x-request-id', 'req-0123456789abcdef01234567')]


def b(s):
    return s if isinstance(s, bytes) else s.encode('utf-8')


class Case:
    def __init__(self, name, settings_max=4096, expect_error=False):
        self.enc = hpack.Encoder()
        self.out = {'name': name, 'settings_max': settings_max, 'blocks': [], 'expect_error': expect_error}

    def block(self, headers, huffman=True):
        """headers: (name, value) or (name, value, sensitive) tuples."""
        norm = []
        for h in headers:
            sensitive = len(h) > 2 and h[2]
            norm.append((b(h[0]), b(h[1]), sensitive))
        # One field per encode() call gives the same block, and lets us see
        # how each field goes on the wire: a sensitive field that is already
        # in a table is sent indexed (no never-indexed bit) by this encoder.
        parts, never = [], []
        for n, v, s in norm:
            match = self.enc.header_table.search(n, v)
            never.append(bool(s) and not (match is not None and match[2]))
            parts.append(self.enc.encode([(n, v, s)], huffman=huffman))
        data = b''.join(parts)
        self.out['blocks'].append({'hex': data.hex(),
                                   'headers': [[n.hex(), v.hex(), f] for (n, v, _), f in zip(norm, never)]})
        return data

    def raw(self, data, headers=()):
        self.out['blocks'].append({'hex': data.hex(), 'headers': [[b(n).hex(), b(v).hex(), False] for n, v in headers]})


def cases(seed):
    rnd = random.Random(seed)
    out = []

    c = Case('huffman-requests-table-reuse')
    for i in range(4):
        c.block(REQ[:3] + [(':path', f'/openai/deployments/gpt-4o/chat/completions?n={i}')] + REQ[4:])
    out.append(c.out)

    c = Case('raw-literals')
    for i in range(3):
        c.block(RESP + [('x-seq', str(i))], huffman=False)
    out.append(c.out)

    c = Case('mixed-huffman-and-raw')
    for i in range(6):
        c.block(REQ + [('x-i', str(i) * (i + 1))], huffman=bool(i % 2))
    out.append(c.out)

    c = Case('never-indexed-secrets')
    for i in range(3):
        c.block(REQ + [('api-key', 'sk-test-key-0123456789', True),
                       ('authorization', 'Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi' + str(i), True)], huffman=bool(i % 2))
    out.append(c.out)

    c = Case('small-table-evictions', settings_max=256)
    c.enc.header_table_size = 256
    for i in range(8):
        c.block([(':status', '200'), ('x-long-%d' % (i % 3), 'v' * (40 + 7 * i)), ('content-type', 'text/event-stream; charset=utf-8'),
                 ('x-request-id', 'req-%024x' % rnd.getrandbits(96))])
    out.append(c.out)

    c = Case('table-size-updates')
    c.block(RESP)
    c.enc.header_table_size = 0          # flush the table
    c.block(RESP)
    c.enc.header_table_size = 128
    c.block(RESP + [('x-after', 'one')])
    c.enc.header_table_size = 4096       # grow back
    c.block(RESP + [('x-after', 'two')])
    c.block(RESP + [('x-after', 'two')])
    out.append(c.out)

    c = Case('non-ascii-and-binary-values')
    c.block([(':status', '200'), ('x-korean', '서울의 날씨는 맑습니다 😊'), ('x-bytes', bytes(range(1, 256)).replace(b'\n', b' '))])
    c.block([(':status', '200'), ('x-korean', '서울의 날씨는 맑습니다 😊')], huffman=False)
    out.append(c.out)

    c = Case('large-values')
    c.block(REQ + [('x-big', 'A' * 20000)])
    c.block(REQ + [('x-big', 'A' * 20000), ('x-big2', ''.join(rnd.choice('abcdefgh0123') for _ in range(5000)))], huffman=False)
    out.append(c.out)

    c = Case('empty-values-and-repeats')
    c.block([(':method', 'GET'), (':path', '/'), ('x-empty', ''), ('cookie', 'a=1'), ('cookie', 'b=2'), ('cookie', 'a=1')])
    c.block([(':method', 'GET'), (':path', '/'), ('x-empty', ''), ('cookie', 'a=1')])
    out.append(c.out)

    for k in range(12):
        c = Case(f'random-{k}', settings_max=rnd.choice([4096, 4096, 1024, 256]))
        c.enc.header_table_size = min(c.out['settings_max'], rnd.choice([4096, 512, 256, 64, 0]))
        pool = [('x-h%d' % rnd.randrange(20), 'v%d' % rnd.randrange(10) * rnd.randrange(1, 30)) for _ in range(40)]
        for _ in range(rnd.randrange(3, 15)):
            hs = rnd.sample(REQ + RESP + pool, rnd.randrange(1, 14))
            hs = [h + ((True,) if rnd.random() < 0.1 else ()) for h in hs]
            if rnd.random() < 0.15:
                c.enc.header_table_size = min(c.out['settings_max'], rnd.choice([4096, 1024, 256, 100, 0]))
            c.block(hs, huffman=rnd.random() < 0.6)
        out.append(c.out)

    # must fail: an index into a dynamic table that is empty
    c = Case('error-unknown-dynamic-index', expect_error=True)
    c.raw(bytes([0x82, 0xbe]))   # :method GET, then dynamic index 62
    out.append(c.out)

    # must fail: a size update above the decoder's SETTINGS_HEADER_TABLE_SIZE
    c = Case('error-size-update-over-settings', settings_max=256, expect_error=True)
    c.enc.header_table_size = 1024
    c.block(RESP)
    out.append(c.out)

    # must fail: block ends inside a literal
    c = Case('error-truncated-block', expect_error=True)
    whole = hpack.Encoder().encode(REQ)
    c.raw(whole[:-3])
    out.append(c.out)
    return out


def main():
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 20261122
    with open(sys.argv[1], 'w') as f:
        json.dump({'generator': f'python3-hpack {getattr(hpack, "__version__", "?")}', 'seed': seed,
                   'cases': cases(seed)}, f)


if __name__ == '__main__':
    main()
