#!/usr/bin/env bash
# get_data_check.sh SRC_DIR DATA_DIR WORK — scripts/get-data.sh builds GLUE's MRPC split
# exactly: from an MSR-corpus-shaped copy (the train and dev pairs merged back into one
# msr_paraphrase_train.txt, the test pairs into msr_paraphrase_test.txt, the dev ids
# listed) served through file:// URLs, it must reproduce the published train/dev/test
# files byte for byte (their SHA-256 is pinned in the script). Also: --from copies, and a
# corrupted mirror is refused.
set -euo pipefail
src=$1 data=$2 work=$3
rm -rf "$work"; mkdir -p "$work/msr" "$work/out"
# The MSR files: train = GLUE train + dev rows (dev rows moved to the end: GLUE keeps the
# relative order within each split, so the output does not change), BOM header kept.
{ cat "$data/mrpc/train.tsv"; tail -n +2 "$data/mrpc/dev.tsv"; } > "$work/msr/msr_paraphrase_train.txt"
{ head -n 1 "$data/mrpc/train.tsv"; tail -n +2 "$data/mrpc/test.tsv" | awk -F'\t' 'BEGIN{OFS="\t"} {$1 = NR % 2; print}'; } \
  > "$work/msr/msr_paraphrase_test.txt"
tail -n +2 "$data/mrpc/dev.tsv" | cut -f2,3 > "$work/msr/dev_ids.tsv"
MRPC_MSR_URL="file://$work/msr" MRPC_DEV_IDS_URL="file://$work/msr/dev_ids.tsv" \
MRPC_HUB_URL="file://$data/bert-base-uncased" \
  "$src/scripts/get-data.sh" --dest "$work/out" --no-weights
for f in mrpc/train.tsv mrpc/dev.tsv mrpc/test.tsv bert-base-uncased/vocab.txt; do
  cmp "$work/out/$f" "$data/$f"
done
echo "ok   built GLUE's split from the MSR-shaped files, byte for byte"
"$src/scripts/get-data.sh" --dest "$work/copy" --from "$data" --no-weights
cmp "$work/copy/mrpc/dev.tsv" "$data/mrpc/dev.tsv"
echo "ok   --from copies a mirror"
mkdir -p "$work/bad/mrpc" "$work/bad/bert-base-uncased"
cp "$data"/mrpc/*.tsv "$work/bad/mrpc/"; cp "$data/bert-base-uncased/vocab.txt" "$work/bad/bert-base-uncased/"
printf 'x' >> "$work/bad/mrpc/dev.tsv"
if "$src/scripts/get-data.sh" --dest "$work/copy2" --from "$work/bad" --no-weights 2>"$work/err.txt"; then
  echo "FAIL a corrupted mirror was accepted"; exit 1
fi
grep -q "dev.tsv: SHA-256" "$work/err.txt" || { cat "$work/err.txt"; echo "FAIL no checksum message"; exit 1; }
echo "ok   a corrupted mirror is refused, naming the file"
