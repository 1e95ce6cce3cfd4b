#!/usr/bin/env bash
# get-data.sh — fetches what mrpc-tune trains on, into a data directory, and verifies it.
#
#   scripts/get-data.sh [--dest DIR] [--from MIRROR] [--no-weights]
#
# Layout written (the layout MRPC_DATA_DIR points at):
#   DIR/mrpc/{train,dev,test}.tsv                      GLUE MRPC, built as GLUE's download script does
#   DIR/bert-base-uncased/vocab.txt                    the uncased WordPiece vocabulary
#   DIR/distilbert-base-uncased/{config.json,model.safetensors,vocab.txt}
#
# Without --from it downloads (needs internet): the MSR paraphrase corpus files that GLUE
# uses, GLUE's list of dev pair ids, and the Hugging Face files of distilbert-base-uncased.
# With --from MIRROR it copies the same layout from a local directory (what exists there).
# Every file is checked: MRPC splits and the vocabulary by SHA-256 against the published
# GLUE/BERT files; config.json and model.safetensors by parsing them (mrpc-train
# check-checkpoint when built) and by the size of the Hub file, and their SHA-256 is
# recorded in DIR/distilbert-base-uncased/SHA256SUMS on first download and verified on
# every later run. Nothing is left half-written: downloads go to a .part file first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/data
mirror=""
weights=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --dest) dest=$2; shift 2 ;;
    --from) mirror=$2; shift 2 ;;
    --no-weights) weights=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "get-data.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# SHA-256 of the files as GLUE's download_glue_data.py produces them and of BERT's vocab.
declare -A sha256=(
  [mrpc/train.tsv]=122becc469405bc16f9defcb8715d2a4b7ce600e9d9381e6dc42bfdd1494c51d
  [mrpc/dev.tsv]=81c8a1a9e1dfe461dd2c1a4f98f43fe18bece44d2bf9e3d0b245b88e5aa5eaf7
  [mrpc/test.tsv]=4ee428d354c01fa35c2f0f6ab835398abb0bec01f17ed68fbcb6c04265505b0a
  [bert-base-uncased/vocab.txt]=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
  [distilbert-base-uncased/vocab.txt]=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
)
safetensors_size=267954768   # bytes of model.safetensors on the Hub (main)

# Sources (overridable, e.g. with file:// URLs of a copy, which the tests use).
msr=${MRPC_MSR_URL:-https://dl.fbaipublicfiles.com/senteval/senteval_data}
glue_dev_ids=${MRPC_DEV_IDS_URL:-'https://firebasestorage.googleapis.com/v0/b/mtl-sentence-representations.appspot.com/o/data%2Fmrpc_dev_ids.tsv?alt=media&token=ec5c0836-31d5-48f4-b431-7480817f1adc'}
hub=${MRPC_HUB_URL:-https://huggingface.co/distilbert-base-uncased/resolve/main}

say() { echo "get-data: $*" >&2; }
die() { say "error: $*"; exit 1; }

fetch() { # fetch URL FILE: download atomically
  local url=$1 out=$2
  mkdir -p "$(dirname "$out")"
  if command -v curl >/dev/null; then
    curl -fL --retry 3 -o "$out.part" "$url" || { rm -f "$out.part"; die "download failed: $url"; }
  elif command -v wget >/dev/null; then
    wget -q -O "$out.part" "$url" || { rm -f "$out.part"; die "download failed: $url"; }
  else
    die "neither curl nor wget is installed"
  fi
  mv "$out.part" "$out"
}

verify() { # verify REL: the pinned checksum of DIR/REL
  local rel=$1 want=${sha256[$1]} got
  got=$(sha256sum "$dest/$rel" | cut -d' ' -f1)
  [[ "$got" == "$want" ]] || die "$dest/$rel: SHA-256 $got, expected $want (corrupt or a different version)"
  say "ok  $rel"
}

build_mrpc() { # GLUE's split of the MSR corpus: dev = the pairs listed in mrpc_dev_ids.tsv
  local tmp; tmp=$(mktemp -d)
  fetch "$msr/msr_paraphrase_train.txt" "$tmp/train.txt"
  fetch "$msr/msr_paraphrase_test.txt" "$tmp/test.txt"
  fetch "$glue_dev_ids" "$tmp/dev_ids.tsv"
  mkdir -p "$dest/mrpc"
  /usr/bin/python3 - "$tmp" "$dest/mrpc" <<'PY'
import io, os, sys
src, out = sys.argv[1], sys.argv[2]
dev_ids = set()
with io.open(os.path.join(src, "dev_ids.tsv"), encoding="utf-8") as fh:
    for row in fh:
        dev_ids.add(tuple(row.strip().split("\t")))
def rows(path):
    with io.open(path, encoding="utf-8") as fh:
        header = fh.readline()
        return header, [r.strip().split("\t") for r in fh if r.strip()]
header, train = rows(os.path.join(src, "train.txt"))
with io.open(os.path.join(out, "train.tsv.part"), "w", encoding="utf-8") as tr, \
     io.open(os.path.join(out, "dev.tsv.part"), "w", encoding="utf-8") as dv:
    tr.write(header); dv.write(header)
    for label, id1, id2, s1, s2 in train:
        (dv if (id1, id2) in dev_ids else tr).write("%s\t%s\t%s\t%s\t%s\n" % (label, id1, id2, s1, s2))
_, test = rows(os.path.join(src, "test.txt"))
with io.open(os.path.join(out, "test.tsv.part"), "w", encoding="utf-8") as te:
    te.write("index\t#1 ID\t#2 ID\t#1 String\t#2 String\n")
    for i, (label, id1, id2, s1, s2) in enumerate(test):
        te.write("%d\t%s\t%s\t%s\t%s\n" % (i, id1, id2, s1, s2))
for name in ("train.tsv", "dev.tsv", "test.tsv"):
    os.replace(os.path.join(out, name + ".part"), os.path.join(out, name))
PY
  rm -rf "$tmp"
}

copy_from_mirror() { # copy REL from the mirror when it is there; returns 1 when absent
  local rel=$1
  [[ -f "$mirror/$rel" ]] || return 1
  mkdir -p "$(dirname "$dest/$rel")"
  cp "$mirror/$rel" "$dest/$rel.part" && mv "$dest/$rel.part" "$dest/$rel"
}

# ---- MRPC and the vocabulary ------------------------------------------------------------
if [[ -n "$mirror" ]]; then
  [[ -d "$mirror" ]] || die "--from $mirror: no such directory"
  for rel in mrpc/train.tsv mrpc/dev.tsv mrpc/test.tsv bert-base-uncased/vocab.txt; do
    copy_from_mirror "$rel" || die "$mirror/$rel is missing from the mirror"
  done
else
  [[ -f "$dest/mrpc/train.tsv" && -f "$dest/mrpc/dev.tsv" && -f "$dest/mrpc/test.tsv" ]] || build_mrpc
  [[ -f "$dest/bert-base-uncased/vocab.txt" ]] || fetch "$hub/vocab.txt" "$dest/bert-base-uncased/vocab.txt"
fi
for rel in mrpc/train.tsv mrpc/dev.tsv mrpc/test.tsv bert-base-uncased/vocab.txt; do verify "$rel"; done

# ---- distilbert-base-uncased ---------------------------------------------------------------
if [[ $weights -eq 1 ]]; then
  wdir=distilbert-base-uncased
  have=1
  for f in config.json model.safetensors vocab.txt; do
    if [[ -f "$dest/$wdir/$f" ]]; then continue; fi
    if [[ -n "$mirror" ]]; then
      copy_from_mirror "$wdir/$f" || { have=0; say "skip $wdir/$f: not in the mirror (the demo then uses a random small model)"; }
    else
      fetch "$hub/$f" "$dest/$wdir/$f"
    fi
  done
  if [[ $have -eq 1 ]]; then
    verify "$wdir/vocab.txt"
    size=$(stat -c %s "$dest/$wdir/model.safetensors")
    [[ "$size" == "$safetensors_size" ]] || say "warning: model.safetensors is $size bytes, the Hub's main is $safetensors_size"
    trainer=$root/build/release/mrpc-train
    if [[ -x "$trainer" ]]; then
      "$trainer" check-checkpoint "$dest/$wdir" || die "$dest/$wdir does not load as a DistilBERT checkpoint"
    fi
    sums=$dest/$wdir/SHA256SUMS
    if [[ -f "$sums" ]]; then
      (cd "$dest/$wdir" && sha256sum -c --quiet SHA256SUMS) || die "$dest/$wdir changed since it was first downloaded"
    else
      (cd "$dest/$wdir" && sha256sum config.json model.safetensors vocab.txt > SHA256SUMS.part && mv SHA256SUMS.part SHA256SUMS)
    fi
    say "ok  $wdir"
  fi
fi
say "data is in $dest (export MRPC_DATA_DIR=$dest)"
