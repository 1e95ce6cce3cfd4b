#!/usr/bin/python3
"""End-to-end checks of mrpc-train on a full disk: a small tmpfs is mounted and filled so
that the run record cannot be created, or cannot be finished, or the resume checkpoint
cannot be written at a stop signal. Every case must end in a clean exit (1, never a
signal) with an honest record or none: never a 0-byte or damaged file that a reader could
take for a record, never "completed" unless the record is complete.

    io_checks.py --bin path/to/mrpc-train --data MRPC_DATA_DIR --work DIR CHECK

CHECK is fulldisk, checkpoint or resume. Mounting needs root: without it (or without tmpfs) the
check exits 77 (skipped). Exit 0 when every assertion holds, 1 otherwise.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_checks import FAILURES, attr, check, write_config  # noqa: E402


class Tmpfs:
    """A tmpfs of `kib` KiB at `path`, unmounted on exit (also when a check fails)."""

    def __init__(self, path, kib):
        self.path, self.kib, self.mounted = path, kib, False

    def __enter__(self):
        os.makedirs(self.path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.kib}k", "tmpfs", self.path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"skip: cannot mount a tmpfs ({r.stderr.strip()}); needs root")
            sys.exit(77)
        self.mounted = True
        return self

    def __exit__(self, *exc):
        if self.mounted:
            subprocess.run(["umount", self.path], check=False)

    def free_kib(self):
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize // 1024

    def fill_to(self, free_kib):
        """Leaves `free_kib` KiB free (tmpfs counts whole 4 KiB pages)."""
        filler = os.path.join(self.path, "filler")
        if os.path.exists(filler):
            os.remove(filler)
        n = self.free_kib() - free_kib
        if n > 0:
            with open(filler, "wb") as fh:
                fh.write(b"\0" * (n * 1024))
                fh.flush()
                os.fsync(fh.fileno())
        return self.free_kib()


def leftovers(d, name):
    """Temporary files of an atomic write left in d (name.tmp.*)."""
    return [f for f in os.listdir(d) if f.startswith(name + ".tmp")]


def exited_cleanly(rc):
    return rc in (0, 1, 75)


def read_status(path):
    """(status, reason) as h5py reads them, or (None, error text) when h5py cannot."""
    try:
        with h5py.File(path, "r", locking=False) as f:
            status, reason = attr(f, "status"), attr(f, "status_reason")
            if status == "completed":
                # A completed record is complete: the summary and the predictions are there.
                _ = f["summary"].attrs["accuracy"], f["eval/predictions"][:], f["train/loss"][:]
            return status, reason
    except Exception as e:  # noqa: BLE001 - any h5py failure means "not a readable record"
        return None, str(e)


def fulldisk(a):
    mnt = os.path.join(a.work, "mnt")
    cfg = os.path.join(a.work, "run.yaml")
    out = os.path.join(mnt, "r.h5")
    write_config(cfg, a.data, out)
    seen = {"absent": 0, "failed": 0, "completed": 0}
    with Tmpfs(mnt, 1024) as fs:
        # 0 KiB: the record cannot be created; a few KiB: created, not finished; enough: completed.
        for free in (0, 4, 8, 16, 24, 32, 48, 64, 128, 256):
            if os.path.exists(out):
                os.remove(out)
            left = fs.fill_to(free)
            r = subprocess.run([a.bin, "--config", cfg, "-q", "--set", "data.max_train_examples=64",
                                "--set", "data.max_eval_examples=64"], capture_output=True, text=True)
            tag = f"{left} KiB free"
            check(exited_cleanly(r.returncode) and r.returncode != 75,
                  f"{tag}: clean exit 0 or 1, no crash (got {r.returncode}): {r.stderr[-400:]}")
            check("infinite loop" not in r.stderr and "HDF5-DIAG" not in r.stderr, f"{tag}: no HDF5 noise on stderr")
            check(not leftovers(mnt, "r.h5"), f"{tag}: no temporary files left: {leftovers(mnt, 'r.h5')}")
            if not os.path.exists(out):
                check(r.returncode == 1 and "No space left on device" in r.stderr,
                      f"{tag}: no record, exit 1 and the reason on stderr")
                seen["absent"] += 1
                continue
            status, reason = read_status(out)
            if r.returncode == 0:
                check(status == "completed", f"{tag}: exit 0 and a complete record (got {status}: {reason})")
                seen["completed"] += status == "completed"
            else:
                check(status in ("failed", "running"),
                      f"{tag}: exit 1 leaves a record h5py reads, not completed (got {status}: {reason[:200]})")
                check(status != "failed" or "No space left on device" in reason,
                      f"{tag}: the failed record says why: {reason[:200]}")
                check("No space left on device" in r.stderr, f"{tag}: stderr says why")
                seen["failed"] += status == "failed"
    check(seen["absent"] > 0 and seen["failed"] > 0 and seen["completed"] > 0,
          f"the fill levels covered no record, a failed record and a completed one: {seen}")


def checkpoint(a):
    """SIGTERM mid-run with no room for the resume checkpoint (about 12 MB for this model)."""
    mnt = os.path.join(a.work, "mnt")
    cfg = os.path.join(a.work, "run.yaml")
    out = os.path.join(mnt, "cut.h5")
    write_config(cfg, a.data, out)
    with Tmpfs(mnt, 1024):
        p = subprocess.Popen([a.bin, "--config", cfg], stderr=subprocess.PIPE, text=True)
        sent = False
        lines = []
        for line in p.stderr:
            lines.append(line)
            if not sent and " step 5/40 " in line:
                p.send_signal(signal.SIGTERM)
                sent = True
        rc = p.wait()
        err = "".join(lines)
        check(sent, "the signal was sent mid-run")
        check(rc == 1, f"no checkpoint written: exit 1, not 75 and no crash (got {rc}): {err[-600:]}")
        check("resume checkpoint could not be written" in err and "No space left on device" in err,
              f"stderr says what happened: {err[-600:]}")
        status, reason = read_status(out)
        check(status == "failed" and "resume checkpoint could not be written" in reason,
              f"the record agrees with exit 1: failed, with the reason (got {status}: {reason[:200]})")
        check(not os.path.exists(out + ".resume"), "no resume checkpoint left to resume from")
        check(not leftovers(mnt, "cut.h5.resume"), f"no temporary checkpoint left: {os.listdir(mnt)}")


def resume(a):
    """A run stopped with a checkpoint, resumed on a disk that has filled up meanwhile."""
    mnt = os.path.join(a.work, "mnt")
    cfg = os.path.join(a.work, "run.yaml")
    out = os.path.join(mnt, "cut.h5")
    write_config(cfg, a.data, out)
    with Tmpfs(mnt, 20 * 1024) as fs:
        p = subprocess.Popen([a.bin, "--config", cfg], stderr=subprocess.PIPE, text=True)
        for line in p.stderr:
            if " step 25/40 " in line:
                p.send_signal(signal.SIGTERM)
        rc = p.wait()
        check(rc == 75 and os.path.exists(out + ".resume"), f"stopped with a checkpoint (exit {rc})")
        left = fs.fill_to(0)
        r = subprocess.run([a.bin, "--config", cfg, "-q"], capture_output=True, text=True)
        status, reason = read_status(out)
        # Either the run could not go on (exit 1, record failed and why), or what it still had
        # to write fitted in the space the files already held (exit 0, a complete record).
        check(r.returncode in (0, 1), f"{left} KiB free: the resumed run exits 0 or 1, no crash "
                                      f"(got {r.returncode}): {r.stderr[-400:]}")
        check("HDF5-DIAG" not in r.stderr, f"no HDF5 noise: {r.stderr[-400:]}")
        if r.returncode == 1:
            check("No space left on device" in r.stderr, f"stderr says why: {r.stderr}")
            check(status == "failed" and "No space left on device" in reason,
                  f"the record says failed and why (got {status}: {reason[:200]})")
        else:
            with h5py.File(out, "r") as f:
                n, acc = len(f["train/loss"]), float(f["summary"].attrs["accuracy"])
            check(status == "completed" and n == 40 and 0 <= acc <= 1,
                  f"the record is complete (status {status}, {n} of 40 steps, accuracy {acc})")
        check(not leftovers(mnt, "cut.h5"), f"no temporary files left: {os.listdir(mnt)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("check", choices=["fulldisk", "checkpoint", "resume"])
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    if os.path.ismount(os.path.join(a.work, "mnt")):
        subprocess.run(["umount", os.path.join(a.work, "mnt")], check=False)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    os.chdir(a.work)
    globals()[a.check](a)
    print(f"{a.check}: {len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
