#!/usr/bin/python3
"""crosscheck.py — compares `mrpc-train tokenize --truncation longest_first_slow` (the C
tokenizer with the slow tokenizer's truncation rule) with bert_reference.py (the HF slow
tokenizer's steps in Python, on Python's unicodedata) on:

  1. the MRPC train, dev and test files (max_seq_length 128);
  2. 4,000 seeded random pairs mixing ASCII, accents, combining marks (also long
     runs of marks of mixed classes), Greek (with capital sigma), Cyrillic, CJK,
     Hangul, special tokens, whitespace and control characters, long words; at
     max_seq_length 128 and 24 (truncation);
  3. one pair per assigned code point of the BMP and every 16th above it.

Code points that Python's unicodedata (3.11: Unicode 14) does not know are left out:
utf8proc 2.8 knows Unicode 15.0, and HF drops unassigned code points as "control".

Usage: crosscheck.py DRIVER VOCAB MRPC_DIR WORK_DIR   (exit 0 when all agree)
"""
import os
import random
import subprocess
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, HERE)
import bert_reference  # noqa: E402

HEADER = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"


def assigned(cp):
    return not (0xD800 <= cp <= 0xDFFF) and unicodedata.category(chr(cp)) != "Cn"


def random_text(rng):
    pool = (
        list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        + list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
        + list("éèêëÉÀÂÄÇçñÑøØåÅæÆœßẞİıŉǅǈǲ")
        + [chr(c) for c in range(0x300, 0x370)]
        + list("ΣσςΑΒΓΔΩωάέήΐΰ") + ["\u1fbc", "\u1ffc", "\u0345", "\u1fbe"]
        + list("МоскваЖЁё") + list("中文字符日本語한국어") + ["\uac00", "\ud7a3"]
        + ["\u212a", "\u2126", "\u212b", "\u00b4", "\u2019", "\u201c", "\u2014", "\u2026", "\u00bd", "\u00b5"]
        + ["\u00a0", "\u3000", "\u2028", "\u2029", "\u0085", "\u000b", "\u000c", "\u001f", "\u007f", "\u200b",
           "\ufeff", "\u00ad", "\ufffd", "\ue000", "\u0378", "\uffff", "\u0012", "\u2060"]
        + ["\U0001f600", "\U0001d400", "\uff21", "\uff41", "\u0130", "\u0131", "\u1e9e", "\u0587", "\ufb01"]
        + ["\u0f73", "\u0f75", "\u0f81", "\u0344", "\u0340", "\u0343", "\u0374", "\u037e", "\u0387", "\u2000"]
    )
    specials = ["[SEP]", "[CLS]", "[PAD]", "[MASK]", "[UNK]", "[sep]", "[SEP", "[unused1]", "[[SEP]]"]
    parts = []
    for _ in range(rng.randint(0, 14)):
        r = rng.random()
        if r < 0.08:
            parts.append(rng.choice(specials))
        elif r < 0.12:
            parts.append(rng.choice("abcé") * rng.randint(95, 105))
        elif r < 0.14:
            marks = ["\u0301", "\u0316", "\u0334", "\u0f71", "\u0f72", "\u302e", "\U0001d165", "\U0001d16d",
                     "\U0001d166", "\u1b44"]
            parts.append(rng.choice("aeoΣ") + "".join(rng.choice(marks) for _ in range(rng.randint(2, 80))))
        elif r < 0.20:
            cp = rng.randint(0x80, 0x2FFFF)
            if assigned(cp):
                parts.append(chr(cp))
        else:
            parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 8))))
        parts.append(rng.choice([" ", "", "", " ", "  ", "\u00a0"]))
    return "".join(parts)


def write_tsv(path, pairs):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        for i, (a, b) in enumerate(pairs):
            f.write("%d\t%d\t%d\t%s\t%s\n" % (i % 2, i, i, a, b))


def compare(driver, vocab_path, vocab, tsv, max_len, what):
    # The reference is the slow tokenizer, so the C side is asked for the slow truncation rule
    # (tests/hf checks the default, the fast tokenizer's rule, against Hugging Face's own library).
    c = subprocess.run([driver, "--vocab", vocab_path, "--max-seq-length", str(max_len),
                        "--truncation", "longest_first_slow", tsv],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if c.returncode != 0:
        print("FAIL %s: driver exited %d: %s" % (what, c.returncode, c.stderr.decode(errors="replace")))
        return False
    got = c.stdout.decode().splitlines()
    data = open(tsv, "rb").read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    want = []
    for raw in data.split(b"\n")[1:]:
        raw = raw[:-1] if raw.endswith(b"\r") else raw
        if raw:
            f = raw.decode("utf-8").split("\t")
            want.append(" ".join(str(i) for i in bert_reference.encode_pair(f[3], f[4], vocab, max_len)))
    if len(got) != len(want):
        print("FAIL %s: %d lines from C, %d from Python" % (what, len(got), len(want)))
        return False
    bad = [i for i in range(len(want)) if got[i] != want[i]]
    for i in bad[:5]:
        print("FAIL %s: pair %d (line %d)\n  C:      %s\n  Python: %s" % (what, i, i + 2, got[i], want[i]))
    print("%s: %d pairs, %d differ" % (what, len(want), len(bad)))
    return not bad


def main():
    driver, vocab_path, mrpc_dir, work = sys.argv[1:5]
    os.makedirs(work, exist_ok=True)
    vocab = bert_reference.load_vocab(vocab_path)
    ok = True
    for split in ("train", "dev", "test"):
        ok &= compare(driver, vocab_path, vocab, os.path.join(mrpc_dir, split + ".tsv"), 128, "mrpc " + split)

    rng = random.Random(20240611)
    pairs = [(random_text(rng), random_text(rng)) for _ in range(4000)]
    rnd = os.path.join(work, "random.tsv")
    write_tsv(rnd, pairs)
    ok &= compare(driver, vocab_path, vocab, rnd, 128, "random, max 128")
    ok &= compare(driver, vocab_path, vocab, rnd, 24, "random, max 24")

    cps = [c for c in range(1, 0x10000) if c not in (9, 10, 13) and assigned(c)]
    cps += [c for c in range(0x10000, 0x110000, 16) if assigned(c)]
    sweep = [("A%sb%s [SEP]%s" % (chr(c), chr(c), chr(c)), "%s\u0301%s\u03a3x \u03a3%s" % (chr(c), chr(c), chr(c)))
             for c in cps]
    sw = os.path.join(work, "sweep.tsv")
    write_tsv(sw, sweep)
    ok &= compare(driver, vocab_path, vocab, sw, 512, "code point sweep")
    print("crosscheck: %s" % ("all agree" if ok else "DIFFERENCES"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
