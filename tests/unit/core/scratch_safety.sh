#!/usr/bin/env bash
# scratch_safety.sh TEST_BINARY — a test pointed at a directory that holds someone's files
# (MRPC_TEST_TMPDIR=/tmp, a home directory) must refuse and delete nothing; pointed at an
# empty or a test-made directory it runs. (Once, MRPC_TEST_TMPDIR=/tmp wiped /tmp.)
set -u
bin=$1
dir=$(mktemp -d /tmp/mrpc-scratch-safety.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail=0
mkdir -p "$dir/theirs" && echo precious > "$dir/theirs/file"
out=$(env -u MRPC_BINARY_DIR MRPC_TEST_TMPDIR="$dir/theirs" "$bin" 2>&1); rc=$?
if [[ $rc -ne 1 || "$(cat "$dir/theirs/file" 2>/dev/null)" != precious || "$out" != *"not clearing it"* ]]; then
  echo "FAIL a directory with someone's files: exit $rc, file $(cat "$dir/theirs/file" 2>&1), output: ${out: -300}"; fail=1
else
  echo "ok   a directory with someone's files is refused and kept"
fi
mkdir -p "$dir/empty"
out=$(env -u MRPC_BINARY_DIR MRPC_TEST_TMPDIR="$dir/empty" "$bin" 2>&1); rc=$?
if [[ $rc -ne 0 || ! -e "$dir/empty/.mrpc-test-scratch" ]]; then
  echo "FAIL an empty directory: exit $rc: ${out: -300}"; fail=1
else
  echo "ok   an empty directory is used and marked"
fi
echo leftover > "$dir/empty/leftover"
out=$(env -u MRPC_BINARY_DIR MRPC_TEST_TMPDIR="$dir/empty" "$bin" 2>&1); rc=$?
if [[ $rc -ne 0 || -e "$dir/empty/leftover" ]]; then
  echo "FAIL a test-made directory is cleared for the next run: exit $rc: ${out: -300}"; fail=1
else
  echo "ok   a test-made directory is cleared for the next run"
fi
exit $fail
