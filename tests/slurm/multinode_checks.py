#!/usr/bin/python3
"""Tests on a real multi-node Slurm cluster built on this machine (scripts/slurm-local.sh
--nodes 3: one slurmd per network namespace, all sharing the filesystem).

    multinode_checks.py --home SRC --bindir BUILD --data DIR --work DIR --cluster DIR CHECK

start / stop  start the 3-node cluster (the ctest fixture; a second start is a no-op that
              prints the same line) / stop it: every namespace, bridge and daemon it made is
              gone, and a directory it did not start is refused
waves         the tiny default-shaped study through slurm/pipeline.sh: array tasks run on at
              least 2 nodes (the records' /@host), all complete, no configuration twice
span          a study whose runs take 2 nodes (slurm.nodes_per_task: 2, ranks_per_task: 2):
              wave.sbatch asks for --nodes=2 --ntasks-per-node=1, srun --mpi=pmix over TCP
              between namespaces; records say 2 ranks on 2 hosts, losses equal the one-rank
              run within the rank-count tolerance, predictions identical
nodefail      a node loses power in the middle of a wave (every process of its namespace
              killed): Slurm marks it down, its task runs again on another node from its
              checkpoint, the record equals an uninterrupted run bit for bit, the study
              completes with nothing lost or counted twice, the report names the resumed run
rankdeath     one rank of a two-node run is killed: the other stops within seconds, the record
              says failed (/@failure lost_rank) with the reason, the study retries the run
              from its checkpoint and completes
lock          `mrpc-optimize next` started at the same moment on two nodes writes one wave

Exit 77 (skipped) when the cluster could not be built (no network namespaces); the reason is
in <cluster>/SKIPPED.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"  # read records while their trainers write them
import h5py  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slurm_checks  # noqa: E402
import tiny_study  # noqa: E402

NODES = 3
# The one-node checks' helpers (check, sh, squeue_empty, wait_queue_empty): one failure list.
check, sh, read = slurm_checks.check, slurm_checks.sh, slurm_checks.read
squeue_empty, wait_queue_empty = slurm_checks.squeue_empty, slurm_checks.wait_queue_empty


def env_for(a):
    env = slurm_checks.env_for(a)
    env["MRPC_SLURM_PORT"] = a.port  # beside the one-node cluster of the other checks
    return env


def local(a, *args, timeout=60):
    return sh([os.path.join(a.home, "scripts/slurm-local.sh"), *args], env_for(a), timeout=timeout, check_rc=False)


def node_states(env):
    r = sh(["sinfo", "-h", "-N", "-o", "%N %T"], env, check_rc=False)
    return dict(line.split() for line in r.stdout.split("\n") if line.strip())


def wait_nodes_idle(a, seconds=60):
    env = env_for(a)
    t0 = time.time()
    while time.time() - t0 < seconds:
        st = node_states(env)
        if len(st) == NODES and all(s in ("idle", "mixed", "allocated") for s in st.values()):
            return True
        time.sleep(1)
    return False


def records(study_dir):
    out = {}
    for path in sorted(glob.glob(os.path.join(study_dir, "runs", "*.h5"))):
        with h5py.File(path, "r") as f:
            out[os.path.basename(path)[:-3]] = {
                "status": f.attrs["status"].decode(),
                "host": f.attrs["host"].decode(),
                "hosts": f.attrs["hosts"].decode() if "hosts" in f.attrs else "",
                "n_ranks": int(f.attrs["n_ranks"]),
                "hparams": tuple(sorted((k, float(v)) for k, v in f["hparams"].attrs.items())),
                "resumes": int(f["checkpoints"].attrs["resumes"]) if "checkpoints" in f else 0,
            }
    return out


def namespace_pids(a, node):
    tag = read(os.path.join(a.cluster, "run", "cluster.id")).split("tag=")[1].split("\n")[0]
    r = subprocess.run(["ip", "netns", "pids", f"mrpc-{tag}-{node}"], capture_output=True, text=True)
    return [int(p) for p in r.stdout.split()]


def trainers_on(a, node):
    """(pid, argv) of the mrpc-train processes running on `node`."""
    out = []
    for pid in namespace_pids(a, node):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                argv = [x.decode() for x in fh.read().split(b"\0") if x]
        except OSError:
            continue
        if argv and argv[0].endswith("mrpc-train"):
            out.append((pid, argv))
    return out


def procid(pid):
    """SLURM_PROCID of a process (its rank under srun), -1 when unreadable."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            env = dict(x.split(b"=", 1) for x in fh.read().split(b"\0") if b"=" in x)
        return int(env.get(b"SLURM_PROCID", b"-1"))
    except (OSError, ValueError):
        return -1


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def compare_bits(path, ref, what):
    with h5py.File(path, "r") as f, h5py.File(ref, "r") as g:
        check(f.attrs["status"].decode() == "completed", f"{what}: completed")
        for k in ["train/loss", "train/learning_rate", "train/grad_norm", "eval/accuracy", "eval/loss",
                  "eval/predictions"]:
            check(k in f and f[k][:].tobytes() == g[k][:].tobytes(), f"{what}: {k} equals the uninterrupted run bit for bit")


# ---- the cluster ------------------------------------------------------------------------

def start(a):
    shutil.rmtree(a.cluster, ignore_errors=True)
    t0 = time.time()
    r = local(a, "start", a.cluster, "--nodes", str(NODES), timeout=120)
    print(r.stdout, r.stderr)
    if r.returncode == 77:
        os.makedirs(a.cluster, exist_ok=True)
        with open(os.path.join(a.cluster, "SKIPPED"), "w") as fh:
            fh.write(r.stderr)
        print("skipped: " + r.stderr)
        return 77
    check(r.returncode == 0 and "export SLURM_CONF=" in r.stdout, f"3-node cluster started in {time.time() - t0:.1f} s")
    st = node_states(env_for(a))
    check(sorted(st) == [f"node{k}" for k in range(1, NODES + 1)] and all(v == "idle" for v in st.values()),
          f"node1..node3 idle: {st}")
    r2 = local(a, "start", a.cluster, "--nodes", str(NODES))
    check(r2.returncode == 0 and r2.stdout == r.stdout, "starting it again changes nothing and prints the same line")
    r3 = local(a, "start", a.cluster, "--nodes", "2")
    check(r3.returncode == 2 and "stop it first" in r3.stderr, f"a different node count is refused: {r3.stderr}")
    # Each node is its own host on its own address; srun reaches all three.
    r = sh(["srun", "-N3", "hostname"], env_for(a), timeout=60)
    check(sorted(r.stdout.split()) == ["node1", "node2", "node3"], f"srun -N3 hostname: {r.stdout.split()}")
    return 0


def stop(a):
    if os.path.exists(os.path.join(a.cluster, "SKIPPED")):
        return 77
    marker = read(os.path.join(a.cluster, "run", "cluster.id"))
    netns = marker.split("netns=")[1].split("\n")[0].split()
    bridge = marker.split("bridge=")[1].split("\n")[0]
    pids = [int(read(p)) for p in glob.glob(os.path.join(a.cluster, "run", "*.pid"))]
    r = local(a, "stop", a.cluster)
    check(r.returncode == 0, f"cluster stopped: {r.stderr}")
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    check(not any(ns in listed for ns in netns), f"every namespace removed ({netns})")
    check(subprocess.run(["ip", "link", "show", bridge], capture_output=True).returncode != 0, f"bridge {bridge} removed")
    check(not any(alive(p) for p in pids), f"every daemon stopped ({pids})")
    r = local(a, "stop", a.cluster)
    check(r.returncode == 0, "stopping again is a no-op")
    # A directory with a cluster this script did not start (no record of it): refused.
    other = os.path.join(a.cluster, "foreign")
    os.makedirs(other, exist_ok=True)
    with open(os.path.join(other, "slurm.conf"), "w") as fh:
        fh.write("ClusterName=someone-else\n")
    r = local(a, "stop", other)
    check(r.returncode == 2 and "did not start" in r.stderr, f"a cluster it did not start is refused: {r.stderr}")
    return 0


# ---- the checks -------------------------------------------------------------------------

def waves(a):
    env = env_for(a)
    study_dir = os.path.join(a.work, "study")
    tiny_study.write(study_dir, a.data)
    r = sh([os.path.join(a.home, "slurm/pipeline.sh"), os.path.join(study_dir, "study.yaml")], env)
    check(r.returncode == 0, f"pipeline submitted: {r.stderr[-300:]}")
    wait_queue_empty(env, 900, "waves")
    recs = records(study_dir)
    check(len(recs) == 45 and all(v["status"] == "completed" for v in recs.values()),
          f"45 completed records ({len(recs)})")
    hosts = {v["host"] for v in recs.values()}
    check(len(hosts) >= 2 and hosts <= {f"node{k}" for k in range(1, NODES + 1)}, f"tasks ran on several nodes: {hosts}")
    configs = [(v["hparams"]) for v in recs.values()]
    check(len(set(configs)) == len(configs), "no configuration (values and seed) ran twice")
    r = sh([os.path.join(a.bindir, "mrpc-optimize"), "status", "--study", os.path.join(study_dir, "study.yaml")], env)
    check("done" in r.stdout.lower(), "the study is done")
    check(os.path.exists(os.path.join(study_dir, "report", "report.html")), "the report was written")


def write_mini(a, study_dir, slurm, slow=False, save_steps=None):
    """The mini study (3 sensitivity runs) with its own slurm block."""
    tiny_study.write_mini(study_dir, a.data)
    if slow:
        tiny_study.write_base(study_dir, a.data, slow=True)
    if save_steps:
        with open(os.path.join(study_dir, "base.yaml"), "a") as fh:
            fh.write(f"save_strategy: steps\nsave_steps: {save_steps}\n")
    path = os.path.join(study_dir, "study.yaml")
    text = read(path)
    text = re.sub(r"^slurm: .*$", "slurm: " + slurm, text, flags=re.M)
    with open(path, "w") as fh:
        fh.write(text)
    return path


def reference(a, env, wave, task, out):
    """Row `task` of `wave` run locally without interruption, to `out`."""
    cmd = [os.path.join(a.bindir, "mrpc-train"), "--wave", wave, "--task-id", str(task), "-q", "--set",
           f"output={out}", "--set", f"resume_checkpoint={out}.resume"]
    r = sh(cmd, env, timeout=600)
    check(r.returncode == 0, f"reference run of task {task} completed")


def span(a):
    env = env_for(a)
    study_dir = os.path.join(a.work, "study")
    study = write_mini(a, study_dir, '{time: "00:10:00", cpus_per_task: 1, ranks_per_task: 2, nodes_per_task: 2, '
                                     'throttle: 2, signal_seconds: 30}')
    r = sh([os.path.join(a.home, "slurm/pipeline.sh"), study], env)
    check(r.returncode == 0, f"pipeline submitted: {r.stderr[-300:]}")
    wave = os.path.join(study_dir, "waves", "sensitivity", "00")
    sbatch = read(os.path.join(wave, "wave.sbatch"))
    check("#SBATCH --nodes=2\n" in sbatch and "#SBATCH --ntasks-per-node=1\n" in sbatch and "--ntasks=" not in sbatch,
          "wave.sbatch asks for 2 nodes with 1 rank each")
    check('MRPC_SRUN_ARGS="${MRPC_SRUN_ARGS:---mpi=pmix}"' in sbatch, "and srun --mpi=pmix")
    wait_queue_empty(env, 600, "span")
    recs = records(study_dir)
    check(len(recs) == 3 and all(v["status"] == "completed" for v in recs.values()), f"3 completed records: {recs}")
    check(all(v["n_ranks"] == 2 and len(v["hosts"].split(",")) == 2 for v in recs.values()),
          f"every record says 2 ranks on 2 hosts: {[(v['n_ranks'], v['hosts']) for v in recs.values()]}")
    ref = os.path.join(a.work, "one-rank.h5")
    reference(a, env, wave, 0, ref)
    with h5py.File(os.path.join(study_dir, "runs", "sens-00-000-baseline.h5"), "r") as f, h5py.File(ref, "r") as g:
        d = float(np.max(np.abs(f["train/loss"][:] - g["train/loss"][:])))
        check(d < 1e-5, f"losses of the 2-node run equal the one-rank run's within 1e-5 ({d:.2e})")
        check(np.array_equal(f["eval/predictions"][:], g["eval/predictions"][:]), "identical predictions")


def wait_for(pred, seconds, step=0.2):
    t0 = time.time()
    while time.time() - t0 < seconds:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def nodefail(a):
    env = env_for(a)
    study_dir = os.path.join(a.work, "study")
    # One task per node (2 CPUs each), slow runs with a checkpoint every 20 steps.
    study = write_mini(a, study_dir, '{time: "00:10:00", cpus_per_task: 2, ranks_per_task: 1, throttle: 3, '
                                     'signal_seconds: 30}', slow=True, save_steps=20)
    r = sh([os.path.join(a.home, "slurm/pipeline.sh"), study], env)
    check(r.returncode == 0, f"pipeline submitted: {r.stderr[-300:]}")
    wave = os.path.join(study_dir, "waves", "sensitivity", "00")

    def victim():  # the task on node2, once it is past its second checkpoint
        for pid, argv in trainers_on(a, "node2"):
            task = int(argv[argv.index("--task-id") + 1])
            logs = glob.glob(os.path.join(wave, "logs", f"*_{task}.out"))
            if logs and re.search(r" step (4[1-9]|[5-9]\d|\d{3,})/", read(logs[0])):
                return task
        return None
    task = wait_for(victim, 240)
    check(task is not None, f"a task runs on node2 and has checkpointed (task {task})")
    if task is None:
        return
    r = local(a, "kill-node", a.cluster, "node2")
    print(r.stdout, r.stderr)
    t_kill = time.time()
    down = wait_for(lambda: "down" in node_states(env).get("node2", ""), 90, 1)
    check(down is not None, f"Slurm marked node2 down within {time.time() - t_kill:.0f} s")
    wait_queue_empty(env, 600, "nodefail")
    recs = records(study_dir)
    check(len(recs) == 3 and all(v["status"] == "completed" for v in recs.values()), f"3 completed records: {recs}")
    run_id = [line.split("\t") for line in read(os.path.join(wave, "tasks.tsv")).splitlines()][task + 1]
    path = [p for p in glob.glob(os.path.join(study_dir, "runs", "*.h5"))
            if os.path.basename(p)[:-3] in "\t".join(run_id)][0]
    rec = recs[os.path.basename(path)[:-3]]
    check(rec["resumes"] >= 1 and "node2" not in rec["hosts"],
          f"the lost task resumed from its checkpoint on another node ({rec['resumes']} resume(s), on {rec['hosts']})")
    log = "".join(read(p) for p in glob.glob(os.path.join(wave, "logs", f"*_{task}.out")))
    m = re.search(r"resumes at step (\d+) ", log)
    check(m is not None and int(m.group(1)) >= 40, f"resumed at step {m.group(1) if m else None} (not from 0)")
    ref = os.path.join(a.work, "reference.h5")
    reference(a, env, wave, task, ref)
    compare_bits(path, ref, "the run that lost its node")
    r = sh([os.path.join(a.bindir, "mrpc-optimize"), "status", "--study", study], env)
    check("done" in r.stdout.lower(), f"the study completed: {r.stdout[-300:]}")
    waves_made = glob.glob(os.path.join(study_dir, "waves", "sensitivity", "[0-9][0-9]"))
    check(len(waves_made) == 1, f"no retry wave was needed: Slurm requeued the task ({len(waves_made)} waves)")
    report = os.path.join(study_dir, "report", "report.md")
    text = read(report) if os.path.exists(report) else ""
    check(os.path.basename(path)[:-3] in text and "resum" in text, "the report names the resumed run")
    # Power back: the node returns to service by itself (ReturnToService=2).
    r = local(a, "start-node", a.cluster, "node2")
    check(r.returncode == 0 and wait_nodes_idle(a), f"node2 back in service: {node_states(env)}")


def rankdeath(a):
    env = env_for(a)
    study_dir = os.path.join(a.work, "study")
    study = write_mini(a, study_dir, '{time: "00:10:00", cpus_per_task: 1, ranks_per_task: 2, nodes_per_task: 2, '
                                     'throttle: 1, signal_seconds: 30}', slow=True, save_steps=20)
    r = sh([os.path.join(a.home, "slurm/pipeline.sh"), study], env)
    check(r.returncode == 0, f"pipeline submitted: {r.stderr[-300:]}")
    wave = os.path.join(study_dir, "waves", "sensitivity", "00")
    path = os.path.join(study_dir, "runs", "sens-00-000-baseline.h5")

    def past_checkpoint():  # task 0's ranks, once it is past its second checkpoint
        logs = glob.glob(os.path.join(wave, "logs", "*_0.out"))
        if not logs or not re.search(r" step (4[1-9]|[5-9]\d|\d{3,})/", read(logs[0])):
            return None
        r1 = [p for p, argv in trainers_on(a, "node1") + trainers_on(a, "node2") + trainers_on(a, "node3")
              if argv[argv.index("--task-id") + 1] == "0"]
        return r1 if len(r1) == 2 else None
    ranks = wait_for(past_checkpoint, 240)
    check(ranks is not None, f"task 0 runs as 2 ranks on 2 nodes ({ranks})")
    if not ranks:
        return
    argv = dict(trainers_on(a, "node1") + trainers_on(a, "node2") + trainers_on(a, "node3")).get(ranks[0], [])
    check("--kill-wait" in argv and argv[argv.index("--kill-wait") + 1] == "10",
          f"task.sh passes the cluster's KillWait (10 s here) as --kill-wait: {argv}")
    # Kill the rank that is not rank 0 (rank 0 writes the record): the one on the second node.
    host_of = {}
    for node in ("node1", "node2", "node3"):
        for pid, _ in trainers_on(a, node):
            host_of[pid] = node
    with h5py.File(path, "r") as f:
        rank0_host = f.attrs["host"].decode()
    victim = [p for p in ranks if host_of.get(p) != rank0_host][0]
    survivor = [p for p in ranks if p != victim][0]
    os.kill(victim, 9)
    t0 = time.time()
    gone = wait_for(lambda: not alive(survivor), 60, 0.1)
    took = time.time() - t0
    check(gone is not None and took < 15, f"the other rank stopped {took:.1f} s after the kill (no hang)")

    def failed():
        try:
            with h5py.File(path, "r") as f:
                st = f.attrs["status"].decode()
                if st == "failed":
                    return (f.attrs["status_reason"].decode(), f.attrs.get("failure", b"").decode())
        except OSError:
            return None
        return None
    seen = wait_for(failed, 30)
    check(seen is not None and "lost a rank" in seen[0] and seen[1] == "lost_rank",
          f"the record says failed, why, and /@failure lost_rank: {seen}")
    check(os.path.exists(path + ".resume"), "its checkpoint is kept")
    wait_queue_empty(env, 900, "rankdeath")
    recs = records(study_dir)
    check(len(recs) == 3 and all(v["status"] == "completed" for v in recs.values()),
          f"the study went on: 3 completed records ({ {k: v['status'] for k, v in recs.items()} })")
    check(recs["sens-00-000-baseline"]["resumes"] >= 1, "the run was retried from its checkpoint")
    retry = os.path.join(study_dir, "waves", "sensitivity", "01", "tasks.tsv")
    check(os.path.exists(retry) and "sens-00-000-baseline" in read(retry), "in a retry wave")
    r = sh([os.path.join(a.bindir, "mrpc-optimize"), "status", "--study", study], env)
    check("done" in r.stdout.lower() and "retried" in r.stdout, f"status: done, the retried run listed: {r.stdout[-400:]}")


def lock(a):
    env = env_for(a)
    for attempt in range(4):
        study_dir = os.path.join(a.work, f"study{attempt}")
        study = write_mini(a, study_dir, '{time: "00:10:00", cpus_per_task: 1, throttle: 3}')
        opt = os.path.join(a.bindir, "mrpc-optimize")
        cmd = f"hostname; exec {opt} next --study {study}"
        procs = [subprocess.Popen(["srun", "-w", node, "-N1", "-n1", "sh", "-c", cmd], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for node in ("node1", "node3")]
        outs = [p.communicate(timeout=120) for p in procs]
        hosts = [o[0].split("\n")[0] for o in outs]
        check(sorted(hosts) == ["node1", "node3"], f"round {attempt}: the two steps ran on node1 and node3 ({hosts})")
        check(all(p.returncode == 0 for p in procs), f"round {attempt}: both exited 0 ({[o[1][-200:] for o in outs]})")
        planned = [o for o in outs if re.search(r"^wave_dir=", o[0], re.M)]
        waited = [o for o in outs if re.search(r"^pending=3$", o[0], re.M)]
        check(len(planned) == 1 and len(waited) == 1,
              f"round {attempt}: one planned the wave, the other found it planned ({[o[0] for o in outs]})")
        w = glob.glob(os.path.join(study_dir, "waves", "*", "[0-9][0-9]"))
        check(len(w) == 1 and len(read(os.path.join(w[0], "tasks.tsv")).splitlines()) == 4,
              f"round {attempt}: one wave of 3 tasks ({w})")


def storm(a):
    """Not a ctest check (scripts/stress-nodes.sh runs it): the tiny default-shaped study on 3
    nodes while nodes lose power one after another (a random node with trainers on it, every
    15-30 s, brought back once Slurm has marked it down). The study must complete with 45
    completed records, no configuration twice, and resumed runs equal to uninterrupted ones."""
    import random
    rng = random.Random(a.seed)
    env = env_for(a)
    study_dir = os.path.join(a.work, "study")
    tiny_study.write(study_dir, a.data)
    with open(os.path.join(study_dir, "base.yaml")) as fh:
        base = fh.read()
    base = base.replace("dim: 16\n  n_layers: 1\n  n_heads: 2\n  hidden_dim: 32",
                        f"dim: {a.dim}\n  n_layers: 2\n  n_heads: 2\n  hidden_dim: {4 * a.dim}")
    base = base.replace("max_train_examples: 64", f"max_train_examples: {a.examples}") + \
        "save_strategy: steps\nsave_steps: 10\n"
    with open(os.path.join(study_dir, "base.yaml"), "w") as fh:
        fh.write(base)
    study = os.path.join(study_dir, "study.yaml")
    # retries: 10: a run hit by many failures in a row (4 requeues per array task, then a retry
    # wave) still ends completed; with the default 2 it would count failed after 12 node losses.
    text = re.sub(r"^slurm: .*$", 'slurm: {time: "00:10:00", cpus_per_task: 1, ranks_per_task: 1, throttle: 6, '
                  'signal_seconds: 30}\nretries: 10', read(study), flags=re.M)
    with open(study, "w") as fh:
        fh.write(text)
    t0 = time.time()
    r = sh([os.path.join(a.home, "slurm/pipeline.sh"), study], env)
    check(r.returncode == 0, "pipeline submitted")
    kills, killed_trainers = 0, 0
    while kills < a.kills and not squeue_empty(env):
        time.sleep(rng.uniform(15, 30))
        busy = [n for n in ("node1", "node2", "node3") if trainers_on(a, n)]
        if not busy:
            continue
        node = rng.choice(busy)
        killed_trainers += len(trainers_on(a, node))
        local(a, "kill-node", a.cluster, node)
        kills += 1
        down = wait_for(lambda: "down" in node_states(env).get(node, ""), 90, 1)
        print(f"kill {kills}: {node} ({'down' if down else 'NOT marked down'}) at {time.time() - t0:.0f} s", flush=True)
        local(a, "start-node", a.cluster, node)
        wait_nodes_idle(a, 60)
    wait_queue_empty(env, 3600, "storm")
    recs = records(study_dir)
    check(len(recs) == 45 and all(v["status"] == "completed" for v in recs.values()),
          f"45 completed records after {kills} node failures ({len(recs)}, "
          f"{sum(v['status'] == 'completed' for v in recs.values())} completed)")
    configs = [v["hparams"] for v in recs.values()]
    check(len(set(configs)) == len(configs), "no configuration ran twice")
    resumed = sorted(k for k, v in recs.items() if v["resumes"] > 0)
    retry_waves = [w for w in glob.glob(os.path.join(study_dir, "waves", "*", "[0-9][0-9]"))
                   if any(line.split("\t")[1] in recs for line in read(os.path.join(w, "tasks.tsv")).splitlines()[1:])]
    # A sample of the resumed runs against uninterrupted runs of the same rows.
    compared = 0
    for w in sorted(glob.glob(os.path.join(study_dir, "waves", "*", "[0-9][0-9]"))):
        rows = [line.split("\t") for line in read(os.path.join(w, "tasks.tsv")).splitlines()]
        for i, row in enumerate(rows[1:]):
            if row[1] in resumed and compared < 5:
                ref = os.path.join(a.work, f"ref-{row[1]}.h5")
                reference(a, env, w, i, ref)
                compare_bits(os.path.join(study_dir, row[2]), ref, f"{row[1]} (resumed)")
                compared += 1
                resumed.remove(row[1])
    print(f"storm: {kills} node failures, {killed_trainers} trainers killed, "
          f"{sum(v['resumes'] > 0 for v in recs.values())} records resumed from checkpoints, {len(retry_waves)} waves, "
          f"{compared} resumed records compared bit for bit, {time.time() - t0:.0f} s", flush=True)


def rankstorm(a):
    """Not a ctest check (scripts/stress-ranks.sh runs it): one rank of a two-node run is
    killed (kill -9) at a random moment, --kills times: during start-up, in the middle of an
    all-reduce, while rank 0 writes a checkpoint or evaluates. Every time the other rank must
    end before Slurm's SIGKILL (KillWait, 10 s here) with exit 75, its record (when one was
    created) failed with /@failure lost_rank and the checkpoint kept when one was written.
    One kill in four takes rank 0 instead: the other rank must end as fast, the record stays
    "running" (nobody is left to write it) and the same command continues the run.
    Counts how often Open MPI returned (the stop watch gave up) and how often it deadlocked
    inside MPI_Test (the call watch took over)."""
    import random
    rng = random.Random(a.seed)
    env = env_for(a)
    os.makedirs(a.work, exist_ok=True)
    tiny_study.write_base(a.work, a.data, slow=True)
    base = os.path.join(a.work, "base.yaml")
    counts = {"polled": 0, "call_watch": 0, "before_record": 0, "missed": 0, "rank0": 0}
    slowest = 0.0
    for i in range(a.kills):
        out = os.path.join(a.work, f"r{i}.h5")
        log = open(os.path.join(a.work, f"r{i}.log"), "w")
        p = subprocess.Popen(["srun", "-N2", "-n2", "--ntasks-per-node=1", "--kill-on-bad-exit=1", "--mpi=pmix",
                              os.path.join(a.bindir, "mrpc-train"), "--kill-wait", "10", "--config", base,
                              "--set", f"output={out}", "--set", "save_strategy=steps", "--set", "save_steps=20"],
                             env=env, stdout=log, stderr=subprocess.STDOUT)
        ranks = wait_for(lambda: [(pid, n) for n in ("node1", "node2", "node3") for pid, _ in trainers_on(a, n)]
                         if len(trainers_on(a, "node1") + trainers_on(a, "node2") + trainers_on(a, "node3")) == 2
                         else None, 60, 0.05)
        if not ranks:
            check(False, f"kill {i}: the run did not start 2 ranks")
            p.kill()
            continue
        # A run of the slow tiny model takes about 8 s; one kill in five lands in its start-up
        # (MPI_Init, reading the config and data, creating the record).
        time.sleep(rng.uniform(0.0, 0.3) if rng.random() < 0.2 else rng.uniform(0.0, 6.0))
        # The victim: rank 1 mostly; one kill in four takes rank 0, the rank that writes the record.
        by_rank = {procid(pid): pid for pid, _ in ranks}
        if set(by_rank) != {0, 1}:
            check(False, f"kill {i}: ranks 0 and 1 not found ({by_rank})")
            p.kill()
            continue
        lost = 0 if rng.random() < 0.25 else 1
        survivor, victim = by_rank[1 - lost], by_rank[lost]
        try:
            os.kill(victim, 9)
        except ProcessLookupError:
            p.wait(60)
            log.close()
            continue  # the run ended first
        t0 = time.time()
        gone = wait_for(lambda: not alive(survivor), 30, 0.05)
        took = time.time() - t0
        rc = p.wait(60)
        log.close()
        text = read(os.path.join(a.work, f"r{i}.log"))
        slowest = max(slowest, took)
        status = failure = None
        if os.path.exists(out):
            with h5py.File(out, "r") as f:
                status, failure = f.attrs["status"].decode(), f.attrs.get("failure", b"").decode()
        if lost == 0:
            # Nobody is left to write the record: it stays "running" (or was never made), and the
            # same command continues the run, from the checkpoint when one was written.
            counts["rank0"] += 1
            again = sh([os.path.join(a.bindir, "mrpc-train"), "--config", base, "--set", f"output={out}"], env,
                       check_rc=False, timeout=300)
            ok = gone is not None and took < 10 and status in (None, "running", "completed") and again.returncode == 0
            check(ok, f"kill {i} (rank 0): the other rank ended in {took:.1f} s, record {status}, run again: exit "
                      f"{again.returncode}{'' if ok else ': ' + again.stderr[-400:] + text[-400:]}")
            continue
        if status is None:
            counts["before_record"] += 1
        elif status == "failed" and failure == "lost_rank":
            counts["call_watch" if "did not return" in text else "polled"] += 1
        elif status == "completed":
            pass  # killed after the run's end
        else:
            counts["missed"] += 1
        ok = gone is not None and took < 10 and (status in (None, "completed") or failure == "lost_rank")
        check(ok, f"kill {i}: the other rank ended in {took:.1f} s (srun exit {rc}), record {status} {failure}: "
                  f"{text[-600:] if not ok else ''}")
    print(f"rankstorm: {a.kills} kills: {counts['polled']} recorded by the stop watch, {counts['call_watch']} by the "
          f"call watch (Open MPI stuck inside MPI_Test), {counts['before_record']} before the record existed, "
          f"{counts['missed']} records left without the lost rank; {counts['rank0']} kills of rank 0 (record left "
          f"running, the run continued by the same command); slowest survivor {slowest:.1f} s", flush=True)


def main():
    ap = argparse.ArgumentParser()
    for k in ["home", "bindir", "data", "work", "cluster"]:
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--port", default="6837")
    ap.add_argument("--kills", type=int, default=10, help="storm: node failures; rankstorm: ranks killed")
    ap.add_argument("--seed", type=int, default=1, help="storm: which nodes and when")
    ap.add_argument("--examples", type=int, default=600, help="storm: training pairs per run (longer runs, more kills)")
    ap.add_argument("--dim", type=int, default=64, help="storm: model width (longer runs, more kills)")
    ap.add_argument("check", choices=["start", "stop", "waves", "span", "nodefail", "rankdeath", "lock", "storm",
                                      "rankstorm"])
    a = ap.parse_args()
    if a.check not in ("start", "stop"):
        skipped = os.path.join(a.cluster, "SKIPPED")
        if os.path.exists(skipped):
            print("skipped: no multi-node cluster here: " + read(skipped))
            return 77
        # Nothing left over from an earlier check (a chain of optimize steps keeps submitting).
        env = env_for(a)
        sh(["scancel", "--user=" + str(os.getuid())], env, check_rc=False)
        wait_queue_empty(env, 60, "jobs of earlier checks cancelled")
        shutil.rmtree(a.work, ignore_errors=True)
        os.makedirs(a.work)
        if not wait_nodes_idle(a, 120):
            check(False, f"the 3 nodes are up before the check: {node_states(env_for(a))}")
    rc = globals()[a.check](a)
    print(f"{a.check}: {len(slurm_checks.FAILURES)} failed")
    if slurm_checks.FAILURES:
        return 1
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
