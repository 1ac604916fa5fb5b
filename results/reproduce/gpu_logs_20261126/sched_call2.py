"""Run reproduction jobs P at a time on one GPU until a deadline; kill what is left (their last.pt stays)."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
R = ["python3", "-m", "phasecollapse", "reproduce"]
O = ["--budget", "cpu", "--out", "results/reproduce", "--only"]
S = ["--set", "train.compile=false"]
jobs = [R + ["table2"] + O + [r] + S for r in ["noskip_mod", "noskip_cst", "skip_mod", "skip_cst", "skip_ms", "noskip_ms", "skip_mc", "noskip_mc", "skip_tanh", "noskip_tanh"]]
jobs += [R + ["pj_tradeoff"] + O + [r] + S for r in ["lowrank_r10", "grouped_g8", "orientation_cyclic_b1"]]
P = int(os.environ.get("P", 12))
t0 = time.time()
deadline = t0 + float(os.environ["BUDGET_S"])
Path("/tmp/logs").mkdir(exist_ok=True)
running, done, queue = {}, [], list(enumerate(jobs))
while queue or running:
    while queue and len(running) < P and time.time() < deadline - 45:
        k, cmd = queue.pop(0)
        log = open(f"/tmp/logs/job{k:02d}.log", "w")
        running[k] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True), time.time(), cmd)
        print(f"[{time.time()-t0:5.0f}s] start {k}: {' '.join(cmd[3:])}", flush=True)
    for k, (p, start, cmd) in list(running.items()):
        if p.poll() is not None:
            done.append({"job": k, "cmd": " ".join(cmd), "rc": p.returncode, "s": round(time.time() - start, 1)})
            print(f"[{time.time()-t0:5.0f}s] end {k} rc={p.returncode} in {time.time()-start:.0f}s", flush=True)
            del running[k]
    if time.time() > deadline or (not queue and not running):
        break
    time.sleep(1)
for k, (p, start, cmd) in running.items():
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    done.append({"job": k, "cmd": " ".join(cmd), "rc": "killed at deadline", "s": round(time.time() - start, 1)})
    print(f"[{time.time()-t0:5.0f}s] killed {k}: {' '.join(cmd[3:])}", flush=True)
time.sleep(5)
for k, (p, _, _) in running.items():
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
done += [{"job": k, "cmd": " ".join(c), "rc": "not started"} for k, c in queue]
Path("/tmp/logs/sched.json").write_text(json.dumps({"P": P, "wall_s": time.time() - t0, "jobs": done}, indent=1))
