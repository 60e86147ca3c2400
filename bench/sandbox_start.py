"""Time from `python -m sandbox_server` to its first 200 on /healthz (loopback), inside a CPU limit.

The limit is a cgroup-v1 CFS quota, the mechanism the kubelet uses for a container's CPU limit
(cpu.cfs_quota_us / cpu.cfs_period_us). Without a writable cgroup-v1 cpu controller it measures
unconstrained and says so. Usage (root, from the repo):
  python bench/sandbox_start.py --python <venv with agent-image/requirements-sandbox.txt>/bin/python \
      --cpu 0.25 --runs 7
"""
from __future__ import annotations

import argparse
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


def one_run(python: str, group: Path | None, workspace: str) -> tuple[float, float]:
    port = free_port()
    env = dict(os.environ, SECRET_TOKEN=secrets.token_hex(16), PORT=str(port), HOST="127.0.0.1",
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
                        return time.perf_counter() - started, cpu_seconds(proc.pid)
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
    args = parser.parse_args()
    group = limited_cgroup(args.cpu)
    try:
        with tempfile.TemporaryDirectory() as workspace:
            runs = [one_run(args.python, group, workspace) for _ in range(args.runs)]
    finally:
        if group is not None:
            group.rmdir()
    times, cpu = [r[0] for r in runs], [r[1] for r in runs]
    limit = f"{args.cpu} CPU (CFS quota)" if group else "no limit (no cgroup-v1 cpu controller)"
    print(f"first /healthz 200 after start, {limit}, n={len(times)}: "
          f"median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s; "
          f"CPU used by then: median {statistics.median(cpu):.2f} s")


if __name__ == "__main__":
    main()
