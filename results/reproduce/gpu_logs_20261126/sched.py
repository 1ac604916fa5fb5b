"""Run the commands of a job file (one per line) P at a time on one GPU until a deadline; kill what
is left (their last.pt stays). Used for both calls: ``BUDGET_S=540 P=12 python3 sched.py
jobs_call1.txt`` and ``BUDGET_S=195 P=10 python3 sched.py jobs_call2.txt``."""
import json, os, shlex, signal, subprocess, sys, time
from pathlib import Path

jobs = [shlex.split(line) for line in Path(sys.argv[1]).read_text().splitlines() if line.strip()]
P = int(os.environ.get("P", 12))
t0 = time.time()
deadline = t0 + float(os.environ["BUDGET_S"])
Path("/tmp/logs").mkdir(exist_ok=True)
running, done, queue = {}, [], list(enumerate(jobs))


def signal_group(p: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass


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
    signal_group(p, signal.SIGTERM)
    done.append({"job": k, "cmd": " ".join(cmd), "rc": "killed at deadline", "s": round(time.time() - start, 1)})
    print(f"[{time.time()-t0:5.0f}s] killed {k}: {' '.join(cmd[3:])}", flush=True)
time.sleep(5)
for p, _, _ in running.values():
    signal_group(p, signal.SIGKILL)
done += [{"job": k, "cmd": " ".join(c), "rc": "not started"} for k, c in queue]
Path("/tmp/logs/sched.json").write_text(json.dumps({"P": P, "wall_s": time.time() - t0, "jobs": done}, indent=1))
