#!/usr/bin/env python3
"""The main job installs only what it runs, and all that it runs.

scripts/install-deps.sh has two sets: `run` (building and running the pipeline: what
scripts/run-pipeline.sh installs) and `test` (everything). Checks:
  - the run set holds none of the test-only heavyweights (PyTorch, Chromium, Slurm, munge,
    AFL++, clang, Optuna, h5py, scikit-learn) and the test set holds all of the run set;
  - every shared library that the four programs load, and every tool the main job calls
    (cmake, make, cc, pkg-config, python3, curl), comes from a package in the run set or
    in what the run set depends on (dependencies of installed packages, recursively);
  - scripts/run-pipeline.sh asks for the run set and scripts/test.sh for the test set.

    deps_check.py --root SOURCE_DIR --bin-dir BUILD_DIR
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

FAILURES = []
TEST_ONLY = ["python3-torch", "chromium", "slurm-wlm", "munge", "afl++", "clang", "python3-optuna", "python3-h5py",
             "python3-sklearn", "libclang-rt-14-dev"]
PROGRAMS = ["mrpc-train", "mrpc-optimize", "mrpc-analyze", "mrpc-pipeline"]
TOOLS = ["cmake", "make", "cc", "pkg-config", "python3", "curl"]


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def package_set(root, name):
    out = subprocess.run([os.path.join(root, "scripts/install-deps.sh"), name, "--list"], capture_output=True,
                         text=True, check=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def installed_packages():
    """name -> (depends alternatives, provides) of every installed package."""
    fmt = "${Package}\t${Status}\t${Depends}, ${Pre-Depends}\t${Provides}\n"
    out = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True, check=True).stdout
    pkgs = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) != 4 or "install ok installed" not in parts[1]:
            continue
        name, _, deps, provides = parts
        alts = []
        for clause in deps.split(","):
            names = [re.sub(r"[ (].*", "", a.strip()).split(":")[0] for a in clause.split("|")]
            names = [n for n in names if n]
            if names:
                alts.append(names)
        prov = [re.sub(r"[ (].*", "", p.strip()).split(":")[0] for p in provides.split(",") if p.strip()]
        pkgs[name] = (alts, prov)
    return pkgs


def closure(roots, pkgs):
    providers = {}
    for name, (_, prov) in pkgs.items():
        for p in prov:
            providers.setdefault(p, []).append(name)
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for alt in pkgs.get(p, ([], []))[0]:
            for a in alt:  # every installed alternative may be the one in use
                for q in [a] + providers.get(a, []):
                    if q in pkgs and q not in seen:
                        todo.append(q)
    return seen


def owner(path):
    real = os.path.realpath(path)
    for candidate in (path, real):
        r = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].split(",")[0].strip()
        # merged /usr: /lib/... is owned as /usr/lib/... or the other way round
        alt = candidate[4:] if candidate.startswith("/usr/") else "/usr" + candidate
        r = subprocess.run(["dpkg-query", "-S", alt], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].split(",")[0].strip()
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--bin-dir", required=True)
    a = p.parse_args()
    run, test = package_set(a.root, "run"), package_set(a.root, "test")
    heavy = [t for t in TEST_ONLY if t in run]
    check(not heavy, "the run set holds no test-only package" + ("" if not heavy else ": " + " ".join(heavy)))
    check(all(t in test for t in TEST_ONLY), "the test set holds the test-only packages")
    check(set(run) <= set(test), "the test set holds the whole run set")
    with open(os.path.join(a.root, "scripts/run-pipeline.sh")) as fh:
        check(re.search(r"^scripts/install-deps\.sh run\b", fh.read(), re.M) is not None,
              "scripts/run-pipeline.sh installs the run set")
    with open(os.path.join(a.root, "scripts/test.sh")) as fh:
        check(re.search(r"^scripts/install-deps\.sh test\b", fh.read(), re.M) is not None,
              "scripts/test.sh installs the test set")

    pkgs = installed_packages()
    missing_run = [r for r in run if r not in pkgs]
    if missing_run:
        print(f"note: not installed here: {' '.join(missing_run)}")
    allowed = closure([r for r in run if r in pkgs], pkgs)
    needed = {}
    for prog in PROGRAMS:
        path = os.path.join(a.bin_dir, prog)
        check(os.path.exists(path), f"{prog} is built")
        if not os.path.exists(path):
            continue
        out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = re.search(r"=> (/\S+)", line)
            if not m or m.group(1).startswith("/usr/local/"):
                continue  # the CUDA toolkit is optional and not a Debian package
            needed.setdefault(m.group(1), set()).add(prog)
    for tool in TOOLS:
        path = shutil.which(tool, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        check(path is not None, f"{tool} is installed")
        if path and not path.startswith("/usr/local/"):
            needed.setdefault(path, set()).add("main job")
    outside = []
    for path, users in sorted(needed.items()):
        pkg = owner(path)
        if pkg is None:
            outside.append(f"{path} (no package owns it)")
        elif pkg not in allowed:
            outside.append(f"{path} from {pkg} (used by {', '.join(sorted(users))})")
    check(len(needed) > 20, f"{len(needed)} libraries and tools of the main job traced to their packages")
    check(not outside, "every library and tool of the main job comes from the run set or its dependencies"
          + ("" if not outside else ": " + "; ".join(outside[:8])))
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        sys.exit(1)
    print("all checks hold")


if __name__ == "__main__":
    main()
