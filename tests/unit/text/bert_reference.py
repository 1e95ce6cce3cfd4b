#!/usr/bin/python3
"""bert_reference.py — a second, independent implementation of the HF slow BertTokenizer
(do_lower_case=True) in Python, for cross-checking the C tokenizer.

It follows the order of HF's code literally (transformers PreTrainedTokenizer.tokenize
and models/bert/tokenization_bert.py), using Python's own unicodedata and str.lower()
rather than utf8proc:

  1. lowercase the text one character at a time, leaving special tokens alone
     (PreTrainedTokenizer.tokenize: re.sub("(<specials>)|(.+?)", ...));
  2. split off special tokens (the added-tokens trie);
  3. per remaining piece, BasicTokenizer: clean_text, CJK spacing, NFC, whitespace split,
     lower() + NFD + drop Mn per word, punctuation split, whitespace split;
  4. WordPiece (greedy longest-match-first, whole word -> [UNK], > 100 chars -> [UNK]);
  5. pairs: [CLS] A [SEP] B [SEP], longest_first truncation by the one-token-at-a-time
     loop of older HF versions (remove from A while it is longer, else from B).

Usage: bert_reference.py VOCAB PAIRS.tsv MAX_SEQ_LENGTH
prints one line of ids per pair, like `mrpc-train tokenize`. The TSV is read as
bytes split on "\\n" (a trailing "\\r" dropped), header skipped, five tab-separated
fields.
"""
import re
import sys
import unicodedata

SPECIALS = ["[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"]
SPECIAL_ALT = "|".join(re.escape(s) for s in SPECIALS)


def load_vocab(path):
    vocab = {}
    with open(path, "r", encoding="utf-8") as f:
        for index, token in enumerate(f.readlines()):
            vocab[token.rstrip("\n")] = index
    return vocab


def whitespace_tokenize(text):
    text = text.strip()
    return text.split() if text else []


def is_whitespace(ch):
    if ch in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(ch) == "Zs"


def is_control(ch):
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch).startswith("C")


def is_punctuation(ch):
    cp = ord(ch)
    if (33 <= cp <= 47) or (58 <= cp <= 64) or (91 <= cp <= 96) or (123 <= cp <= 126):
        return True
    return unicodedata.category(ch).startswith("P")


def is_chinese_char(cp):
    return ((0x4E00 <= cp <= 0x9FFF) or (0x3400 <= cp <= 0x4DBF) or (0x20000 <= cp <= 0x2A6DF)
            or (0x2A700 <= cp <= 0x2B73F) or (0x2B740 <= cp <= 0x2B81F) or (0x2B820 <= cp <= 0x2CEAF)
            or (0xF900 <= cp <= 0xFAFF) or (0x2F800 <= cp <= 0x2FA1F))


def clean_text(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or is_control(ch):
            continue
        out.append(" " if is_whitespace(ch) else ch)
    return "".join(out)


def tokenize_chinese_chars(text):
    out = []
    for ch in text:
        if is_chinese_char(ord(ch)):
            out.extend((" ", ch, " "))
        else:
            out.append(ch)
    return "".join(out)


def strip_accents(text):
    text = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")


def split_on_punc(text):
    output = []
    start_new_word = True
    for ch in text:
        if is_punctuation(ch):
            output.append([ch])
            start_new_word = True
        else:
            if start_new_word:
                output.append([])
            start_new_word = False
            output[-1].append(ch)
    return ["".join(x) for x in output]


def basic_tokenize(text):
    text = clean_text(text)
    text = tokenize_chinese_chars(text)
    text = unicodedata.normalize("NFC", text)
    split_tokens = []
    for token in whitespace_tokenize(text):
        if token in SPECIALS:
            split_tokens.append(token)
            continue
        token = strip_accents(token.lower())
        split_tokens.extend(split_on_punc(token))
    return whitespace_tokenize(" ".join(split_tokens))


def wordpiece(token, vocab):
    chars = list(token)
    if len(chars) > 100:
        return ["[UNK]"]
    pieces = []
    start = 0
    while start < len(chars):
        end = len(chars)
        cur = None
        while start < end:
            sub = "".join(chars[start:end])
            if start > 0:
                sub = "##" + sub
            if sub in vocab:
                cur = sub
                break
            end -= 1
        if cur is None:
            return ["[UNK]"]
        pieces.append(cur)
        start = end
    return pieces


def tokenize(text, vocab):
    text = re.sub("(" + SPECIAL_ALT + ")|(.+?)", lambda m: m.groups()[0] or m.groups()[1].lower(), text)
    tokens = []
    for part in re.split("(" + SPECIAL_ALT + ")", text):
        if not part:
            continue
        if part in SPECIALS:
            tokens.append(part)
            continue
        for word in basic_tokenize(part):
            tokens.extend([word] if word in SPECIALS else wordpiece(word, vocab))
    return [vocab.get(t, vocab["[UNK]"]) for t in tokens]


def encode_pair(a, b, vocab, max_len):
    ids_a, ids_b = tokenize(a, vocab), tokenize(b, vocab)
    remove = len(ids_a) + len(ids_b) + 3 - max_len
    for _ in range(max(0, remove)):
        if len(ids_a) > len(ids_b):
            ids_a = ids_a[:-1]
        else:
            ids_b = ids_b[:-1]
    return [vocab["[CLS]"]] + ids_a + [vocab["[SEP]"]] + ids_b + [vocab["[SEP]"]]


def main():
    vocab = load_vocab(sys.argv[1])
    max_len = int(sys.argv[3])
    data = open(sys.argv[2], "rb").read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    out = []
    for raw in lines[1:]:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw:
            continue
        fields = raw.decode("utf-8").split("\t")
        assert len(fields) == 5, raw
        out.append(" ".join(str(i) for i in encode_pair(fields[3], fields[4], vocab, max_len)))
    sys.stdout.write("".join(line + "\n" for line in out))


if __name__ == "__main__":
    main()
