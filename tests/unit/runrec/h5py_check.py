#!/usr/bin/python3
"""h5py_check.py -- checks a run record written by the C writer the way a user sees it with h5py.

Usage: /usr/bin/python3 h5py_check.py FILE [--strict] [--no-lock] EXPECT...

Each EXPECT says what one object must be (values are everything after the first ':' of
the right-hand side, so strings may hold ':', '=', quotes, newlines and UTF-8):

  attr:NAME=str:VALUE        root attribute stored as a fixed-length UTF-8 string: h5py
                             returns numpy.bytes_ that decodes (strict UTF-8) to VALUE
  attr:NAME=int:VALUE        root attribute, numpy int64 equal to VALUE
  attr:NAME=absent           root attribute must not exist
  hparam:NAME=float:VALUE    /hparams attribute, float64 equal to VALUE (exactly; pass %.17g)
  hparam:NAME=int:VALUE      /hparams attribute, int64 equal to VALUE
  summary:NAME=float:VALUE   /summary attribute, float64 (exact; "nan" matches NaN)
  group:/PATH=absent         the group must not exist
  ds:/PATH=DTYPE:N:FIRST:LAST:SUM
                             1-D dataset of numpy dtype DTYPE (int64, float64, int32) with
                             N entries; FIRST and LAST exact, SUM within 1e-9 relative
                             (omit FIRST:LAST:SUM when N is 0). /train and /eval series
                             must also be chunked with an unlimited maximum shape.
  ds:/PATH=absent            the dataset must not exist

With --no-lock the file is opened with locking=False (as docs/run-record.md tells users
to, to read a record that mrpc-train is still writing).
With --strict every attribute (of /, /hparams, /summary) and every dataset in the file
must be named by an EXPECT, so a layout change that the test does not know of fails.
Prints every attribute and dataset it sees; exits 0 when all expectations hold, 1 when
one fails, 2 on bad usage.
"""
import math
import sys

import h5py
import numpy as np


def fail(failures, msg):
    failures.append(msg)
    print("FAIL: " + msg)


def num(text):
    return float(text)


def same_float(got, want):
    if math.isnan(want):
        return math.isnan(got)
    return got == want


def check_str_attr(failures, obj, name, want, where):
    """Run records hold fixed-length NUL-terminated UTF-8 strings: h5py returns them as
    numpy.bytes_, which must decode as UTF-8 to exactly the expected text."""
    if name not in obj.attrs:
        fail(failures, "%s: missing" % where)
        return
    got = obj.attrs[name]
    if not isinstance(got, bytes):
        fail(failures, "%s: h5py returned %s, expected bytes (a fixed-length string)" % (where, type(got).__name__))
        return
    info = h5py.check_string_dtype(obj.attrs.get_id(name).dtype)
    if info is None or info.encoding != "utf-8" or info.length is None:
        fail(failures, "%s: stored as %r, expected a fixed-length UTF-8 string" % (where, info))
    try:
        text = got.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(failures, "%s: does not decode as UTF-8: %s" % (where, e))
        return
    if text != want:
        fail(failures, "%s: got %r, expected %r" % (where, text, want))


def check_num_attr(failures, obj, name, kind, want_text, where):
    if name not in obj.attrs:
        fail(failures, "%s: missing" % where)
        return
    got = obj.attrs[name]
    dtype = np.asarray(got).dtype
    if kind == "int":
        if dtype != np.int64:
            fail(failures, "%s: dtype %s, expected int64" % (where, dtype))
        elif int(got) != int(want_text):
            fail(failures, "%s: got %d, expected %s" % (where, int(got), want_text))
    else:
        if dtype != np.float64:
            fail(failures, "%s: dtype %s, expected float64" % (where, dtype))
        elif not same_float(float(got), num(want_text)):
            fail(failures, "%s: got %r, expected %s" % (where, float(got), want_text))


def check_dataset(failures, f, path, spec):
    if spec == "absent":
        if path in f:
            fail(failures, "%s: should be absent" % path)
        return
    if path not in f:
        fail(failures, "%s: missing" % path)
        return
    ds = f[path]
    if not isinstance(ds, h5py.Dataset):
        fail(failures, "%s: not a dataset" % path)
        return
    parts = spec.split(":")
    dtype, n = parts[0], int(parts[1])
    if ds.dtype != np.dtype(dtype):
        fail(failures, "%s: dtype %s, expected %s" % (path, ds.dtype, dtype))
    if ds.ndim != 1 or ds.shape[0] != n:
        fail(failures, "%s: shape %s, expected (%d,)" % (path, ds.shape, n))
        return
    if path.startswith("/train/") or path in ("/eval/step", "/eval/epoch", "/eval/accuracy", "/eval/f1", "/eval/loss"):
        if ds.chunks is None or ds.maxshape != (None,):
            fail(failures, "%s: chunks %s maxshape %s, expected chunked and unlimited" % (path, ds.chunks, ds.maxshape))
    if n == 0:
        return
    data = ds[()]
    first, last, total = num(parts[2]), num(parts[3]), num(parts[4])
    if not same_float(float(data[0]), first):
        fail(failures, "%s[0]: got %r, expected %r" % (path, float(data[0]), first))
    if not same_float(float(data[-1]), last):
        fail(failures, "%s[-1]: got %r, expected %r" % (path, float(data[-1]), last))
    got_sum = float(np.sum(data.astype(np.float64)))
    if not abs(got_sum - total) <= 1e-9 * max(1.0, abs(total)):
        fail(failures, "%s: sum %r, expected %r" % (path, got_sum, total))


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    path = argv[1]
    strict = False
    no_lock = False
    expects = []
    for arg in argv[2:]:
        if arg == "--strict":
            strict = True
            continue
        if arg == "--no-lock":
            no_lock = True
            continue
        if "=" not in arg or ":" not in arg.split("=", 1)[0]:
            print("bad expectation: %r" % arg)
            return 2
        lhs, rhs = arg.split("=", 1)
        kind, name = lhs.split(":", 1)
        expects.append((kind, name, rhs))

    failures = []
    covered = set()
    with h5py.File(path, "r", **({"locking": False} if no_lock else {})) as f:
        # Print everything, the way a user would look at the file.
        for where, obj in (("/", f), ("/hparams", f.get("hparams")), ("/summary", f.get("summary"))):
            if obj is None:
                continue
            for name in sorted(obj.attrs):
                value = obj.attrs[name]
                print("attr %s@%s = %r (%s)" % (where, name, value, type(value).__name__))
        datasets = []
        f.visititems(lambda name, obj: datasets.append("/" + name) if isinstance(obj, h5py.Dataset) else None)
        for name in sorted(datasets):
            print("dataset %s %s %s" % (name, f[name].dtype, f[name].shape))

        for kind, name, rhs in expects:
            if kind == "attr":
                covered.add("/@" + name)
                if rhs == "absent":
                    if name in f.attrs:
                        fail(failures, "/@%s: should be absent" % name)
                    continue
                t, value = rhs.split(":", 1)
                if t == "str":
                    check_str_attr(failures, f, name, value, "/@" + name)
                else:
                    check_num_attr(failures, f, name, t, value, "/@" + name)
            elif kind in ("hparam", "summary"):
                group = "hparams" if kind == "hparam" else "summary"
                covered.add("/%s@%s" % (group, name))
                if group not in f:
                    fail(failures, "/%s: missing" % group)
                    continue
                t, value = rhs.split(":", 1)
                check_num_attr(failures, f[group], name, t, value, "/%s@%s" % (group, name))
            elif kind == "group":
                if rhs != "absent":
                    print("bad group expectation %r" % rhs)
                    return 2
                if name in f:
                    fail(failures, "%s: should be absent" % name)
            elif kind == "ds":
                covered.add(name)
                check_dataset(failures, f, name, rhs)
            else:
                print("unknown expectation kind %r" % kind)
                return 2

        if strict:
            seen = set("/@" + a for a in f.attrs)
            for group in ("hparams", "summary"):
                if group in f:
                    seen.update("/%s@%s" % (group, a) for a in f[group].attrs)
            seen.update(datasets)
            for extra in sorted(seen - covered):
                fail(failures, "%s: in the file but not expected by the test" % extra)

    print("h5py_check: %d expectation(s), %d failure(s)" % (len(expects), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
