#!/usr/bin/python3
"""st_reference.py — an independent safetensors implementation (json + struct + numpy,
bf16 through torch) for cross-checking train/io/safetensors.c.

    st_reference.py check FILE          verify a file written by the C writer
    st_reference.py write ALIGNED LEGACY write the same tensors twice: once as the current
                                         reference writer does (header padded to 8 bytes,
                                         F32 before BF16, then by name) and once as
                                         safetensors <= 0.3.0 did (extra = len % 8, so the
                                         data is misaligned), with tensors in reverse order

Both sides build the same tensors from the formula in `expected()`; test_st_xcheck.c
holds the C copy. Exit status: 0 ok, 1 mismatch, 2 usage, 77 numpy/torch missing.
"""
import json
import struct
import sys

try:
    import numpy as np
    import torch
except ImportError as exc:  # pragma: no cover - depends on the machine
    print(f"SKIP: {exc}")
    sys.exit(77)

# Bit patterns shared with the C test: ties, overflow, infinities, zeros, denormals, NaNs.
SPECIAL_BITS = [
    0x3F800000, 0x3F808000, 0x3F818000, 0x3F808001, 0x3F807FFF, 0xBF818000, 0x7F7FFFFF,
    0x7F7F7FFF, 0x7F800000, 0xFF800000, 0x80000000, 0x00000000, 0x00000001, 0x00008000,
    0x00018000, 0x007FFFFF, 0x7FC00000, 0xFFC00000, 0x7F800001, 0x3EAAAAAB, 0xC2F6E979,
]


def formula(seed, n):
    """value[i] = float32(((i * 2654435761 + seed * 97) mod 20001) - 10000) / float32(37)."""
    i = np.arange(n, dtype=np.uint64)
    k = ((i * np.uint64(2654435761) + np.uint64(seed * 97)) % np.uint64(20001)).astype(np.int64) - 10000
    return (k.astype(np.float32) / np.float32(37.0)).astype(np.float32)


def expected():
    """name -> (dtype, shape, float32 values before any bf16 rounding)."""
    special = np.array(SPECIAL_BITS, dtype=np.uint32).view(np.float32)
    return {
        "w.f32": ("F32", [3, 5], formula(1, 15)),
        "w.bf16": ("BF16", [7], formula(2, 7)),
        "scalar": ("F32", [], formula(3, 1)),
        "empty": ("F32", [0, 4], np.zeros(0, dtype=np.float32)),
        "empty.bf16": ("BF16", [2, 0, 3], np.zeros(0, dtype=np.float32)),
        "special.f32": ("F32", [len(SPECIAL_BITS)], special),
        "special.bf16": ("BF16", [len(SPECIAL_BITS)], special),
        "a.long.name/with.dots_0": ("BF16", [2, 2, 2], formula(4, 8)),
        "big": ("F32", [1000, 3], formula(5, 3000)),
    }


def bf16_bits(values):
    """float32 values -> bf16 bit patterns (uint16) as torch rounds them (nearest even)."""
    t = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32)).to(torch.bfloat16)
    return t.view(torch.int16).numpy().view(np.uint16)


def tensor_bytes(dtype, values):
    if dtype == "F32":
        return values.astype("<f4").tobytes()
    return bf16_bits(values).astype("<u2").tobytes()


def reference_order(names_dtypes):
    """Descending dtype alignment (F32 before BF16), then name, bytewise."""
    rank = {"F32": 11, "BF16": 8}
    return sorted(names_dtypes, key=lambda nd: (-rank[nd[1]], nd[0].encode("utf-8")))


def fail(msg):
    print(f"MISMATCH: {msg}")
    sys.exit(1)


def check(path):
    raw = open(path, "rb").read()
    if len(raw) < 8:
        fail("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if n % 8 != 0:
        fail(f"header length {n} is not a multiple of 8")
    header_bytes = raw[8:8 + n]
    text = header_bytes.decode("utf-8")
    stripped = text.rstrip(" ")
    if len(text) - len(stripped) >= 8:
        fail("more than 7 padding spaces")
    if not stripped.startswith("{"):
        fail("header does not start with {")

    def no_dups(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            fail(f"duplicate keys {keys}")
        return dict(pairs)

    header = json.loads(stripped, object_pairs_hook=no_dups)
    pairs = list(header.items())
    # compact separators, as serde_json writes them
    if json.dumps(header, separators=(",", ":"), ensure_ascii=False) != stripped:
        fail("header is not compact JSON in its own key order")
    keys = [k for k, _ in pairs]
    meta = header.pop("__metadata__", None)
    if keys and keys[0] == "__metadata__":
        keys = keys[1:]
    elif meta is not None:
        fail("__metadata__ is not the first key")
    if meta != {"format": "pt", "producer": "mrpc-c"}:
        fail(f"metadata {meta}")
    exp = expected()
    if set(keys) != set(exp):
        fail(f"tensor names {sorted(keys)} != {sorted(exp)}")
    want_order = [nm for nm, _ in reference_order([(nm, exp[nm][0]) for nm in exp])]
    if keys != want_order:
        fail(f"tensor order {keys} != reference order {want_order}")
    data = raw[8 + n:]
    pos = 0
    for name in keys:
        info = header[name]
        dtype, shape, values = exp[name]
        if info["dtype"] != dtype or info["shape"] != shape:
            fail(f"{name}: dtype/shape {info['dtype']} {info['shape']}")
        begin, end = info["data_offsets"]
        if begin != pos:
            fail(f"{name}: begins at {begin}, expected {pos}")
        pos = end
        got = data[begin:end]
        want = tensor_bytes(dtype, values)
        if len(got) != len(want):
            fail(f"{name}: {len(got)} bytes, expected {len(want)}")
        if dtype == "F32":
            if got != want:
                fail(f"{name}: F32 bytes differ")
        else:
            g = np.frombuffer(got, dtype="<u2")
            w = np.frombuffer(want, dtype="<u2")
            g_nan = np.isnan(torch.from_numpy(g.view(np.int16).copy()).view(torch.bfloat16).float().numpy())
            w_nan = np.isnan(values)
            if not np.array_equal(g_nan, w_nan):
                fail(f"{name}: NaN positions differ")
            if not np.array_equal(g[~w_nan], w[~w_nan]):
                bad = np.nonzero(g != w)[0][0]
                fail(f"{name}: bf16 bits differ at {bad}: C 0x{g[bad]:04X}, torch 0x{w[bad]:04X}")
    if pos != len(data):
        fail(f"data buffer has {len(data)} bytes, tensors cover {pos}")
    print(f"ok: {path}: {len(keys)} tensors match")


def write(path, legacy):
    exp = expected()
    order = reference_order([(nm, exp[nm][0]) for nm in exp])
    if legacy:
        order = list(reversed(order))  # any order is legal; the reader sorts by offset
    header = {"__metadata__": {"format": "pt", "producer": "st_reference.py"}}
    blobs = []
    pos = 0
    for name, dtype in order:
        _, shape, values = exp[name]
        b = tensor_bytes(dtype, values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [pos, pos + len(b)]}
        blobs.append(b)
        pos += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    extra = (len(text) % 8) if legacy else (8 - len(text) % 8) % 8
    text += b" " * extra
    if legacy and (8 + len(text)) % 4 == 0:
        text += b" "  # make sure this one really is misaligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main(argv):
    if len(argv) == 3 and argv[1] == "check":
        check(argv[2])
    elif len(argv) == 4 and argv[1] == "write":
        write(argv[2], legacy=False)
        write(argv[3], legacy=True)
        print(f"ok: wrote {argv[2]} and {argv[3]}")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
