#!/usr/bin/env bash
# hf_tokenizer_check.sh — `mrpc-train tokenize` against Hugging Face's own tokenizer.
#
# Installs the npm package `tokenizers` (Hugging Face's Rust tokenizers library, the one
# behind BertTokenizerFast) into NPM_DIR when it is not there yet, then runs
# compare_tokenizers.js: every MRPC pair (train, dev, test) at max_length 128, 96, 64 and
# 32, tests/hf/hostile.tsv at the same lengths and 2,000 generated pairs at short lengths
# must give identical input ids.
#
#   hf_tokenizer_check.sh MRPC_TRAIN VOCAB MRPC_DIR NPM_DIR WORK_DIR
#
# Exit 0: identical; 1: a difference or a failure; 77 (skipped, never a pass): node or
# npm missing, or the npm registry unreachable (the reason is printed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ $# -ne 5 ]]; then
  echo "usage: hf_tokenizer_check.sh MRPC_TRAIN VOCAB MRPC_DIR NPM_DIR WORK_DIR" >&2
  exit 2
fi
bin=$1 vocab=$2 mrpc=$3 npm_dir=$4 work=$5
version=0.23.2

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed (the Hugging Face tokenizer comes from npm; install nodejs and npm)"
    exit 77
  fi
done

installed() {
  node -e "process.exit(require(process.argv[1] + '/node_modules/tokenizers/package.json').version === process.argv[2] ? 0 : 1)" \
    "$npm_dir" "$version" 2>/dev/null
}

if ! installed; then
  mkdir -p "$npm_dir" "$work"
  log=$work/npm-install.log
  echo "installing tokenizers@$version from npm into $npm_dir"
  if ! timeout 300 npm install --prefix "$npm_dir" --no-audit --no-fund --no-save --fetch-retries=1 \
        --fetch-timeout=30000 "tokenizers@$version" >"$log" 2>&1; then
    if grep -Eq 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network|proxy' "$log"; then
      echo "SKIP: the npm registry is unreachable, so Hugging Face's tokenizer could not be installed:"
      grep -E -m 3 'npm (error|ERR!) (code|errno|request|network)' "$log" || tail -n 5 "$log"
      exit 77
    fi
    echo "FAIL: npm install tokenizers@$version failed:"
    tail -n 20 "$log"
    exit 1
  fi
  if ! installed; then
    echo "FAIL: npm reported success but $npm_dir/node_modules/tokenizers is not version $version"
    exit 1
  fi
fi

exec node "$here/compare_tokenizers.js" --node-modules "$npm_dir/node_modules" --mrpc-train "$bin" --vocab "$vocab" \
  --lengths 128,96,64,32 --work "$work" \
  "$mrpc/train.tsv" "$mrpc/dev.tsv" "$mrpc/test.tsv" "$here/hostile.tsv"
