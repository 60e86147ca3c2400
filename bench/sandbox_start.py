"""Time from `python -m sandbox_server` to its first 200 on /healthz (loopback), inside a CPU limit;
then the first and the second code run (`run_ipython_cell`, as the manager forwards a claim's), each
from request to response.

The limit is a cgroup-v1 CFS quota, the mechanism the kubelet uses for a container's CPU limit
(cpu.cfs_quota_us / cpu.cfs_period_us). Without a writable cgroup-v1 cpu controller it measures
unconstrained and says so. Usage (root, from the repo):
  python bench/sandbox_start.py --python <venv with agent-image/requirements-sandbox.txt>/bin/python \
      --cpu 0.25 --runs 7
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup/cpu")
AGENT_IMAGE = Path(__file__).resolve().parent.parent / "agent-image"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def limited_cgroup(cpu: float) -> Path | None:
    if not (CGROUP_ROOT / "cpu.cfs_quota_us").exists():
        return None
    group = CGROUP_ROOT / f"sandbox-start-bench-{os.getpid()}"
    group.mkdir()
    (group / "cpu.cfs_period_us").write_text("100000")
    (group / "cpu.cfs_quota_us").write_text(str(int(cpu * 100000)))
    return group


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def code_run(port: int, token: str) -> float:
    body = json.dumps({"code": "print('sandbox ready')"}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/fastapi/tools/run_ipython_cell", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as r:
        text = r.read().decode()
    if "sandbox ready" not in text:
        raise RuntimeError(f"the code did not run: {text[:500]}")
    return time.perf_counter() - started


def one_run(python: str, group: Path | None, workspace: str, settle: float) -> tuple[float, float, float, float]:
    port = free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ, SECRET_TOKEN=token, PORT=str(port), HOST="127.0.0.1",
               WORKSPACE_DIR=workspace, PYTHONPATH=str(AGENT_IMAGE), PYTHONDONTWRITEBYTECODE="1")
    # The child joins the cgroup before exec, so the interpreter's start counts against the quota.
    pre = (lambda: (group / "tasks").write_text(str(os.getpid()))) if group else None
    started = time.perf_counter()
    proc = subprocess.Popen([python, "-m", "sandbox_server"], env=env, preexec_fn=pre,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = started + 120
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        ready, cpu = time.perf_counter() - started, cpu_seconds(proc.pid)
                        time.sleep(settle)  # a pool's sandbox idles before its claim; 0: a cold create's claim
                        return ready, cpu, code_run(port, token), code_run(port, token)
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"sandbox_server exited with {proc.returncode}")
            time.sleep(0.02)
        raise RuntimeError("no /healthz within 120 s")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--python", required=True)
    parser.add_argument("--cpu", type=float, default=0.25)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--settle", type=float, default=0.0, help="seconds between /healthz and the first code run")
    args = parser.parse_args()
    group = limited_cgroup(args.cpu)
    try:
        with tempfile.TemporaryDirectory() as workspace:
            runs = [one_run(args.python, group, workspace, args.settle) for _ in range(args.runs)]
    finally:
        if group is not None:
            group.rmdir()
    times, cpu = [r[0] for r in runs], [r[1] for r in runs]
    limit = f"{args.cpu} CPU (CFS quota)" if group else "no limit (no cgroup-v1 cpu controller)"
    print(f"first /healthz 200 after start, {limit}, n={len(times)}: "
          f"median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s; "
          f"CPU used by then: median {statistics.median(cpu):.2f} s")
    for i, name in ((2, "first"), (3, "second")):
        runs_s = [r[i] for r in runs]
        print(f"{name} code run ({args.settle:g} s after that): median {statistics.median(runs_s) * 1000:.0f} ms, "
              f"min {min(runs_s) * 1000:.0f} ms, max {max(runs_s) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
