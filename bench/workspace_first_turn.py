"""Where a 2.x session's first turn waits for its workspace, and what a warm pool saves (issue 25).

Run under the 2.x venv with agent-image/ on the path (it drives the launcher's own classes):

  PYTHONPATH=agent-image .venv/agentscope2/bin/python bench/workspace_first_turn.py gateway --cpu 0.25 --runs 7
  podman run --rm --cpus 0.1 -v $PWD/bench:/bench:ro <workspace image> python3 /bench/workspace_first_turn.py gateway --cpu 0
      The same inside the workspace image itself (its venv, uid 10001, read-only root as run).
      The in-pod gateway alone, off any cluster: the launcher's commands (script written, `nohup
      <venv>/bin/python -u <script> --port 5600`, /health polled) as a local process inside a
      cgroup-v1 CFS quota (bench/sandbox_start.py's), i.e. what a workspace pod of `--cpu` pays.

  KUBECONFIG=... PYTHONPATH=agent-image .venv/agentscope2/bin/python bench/workspace_first_turn.py \\
      cluster --settings workspace-pods.json --cold 10 --warm 20
      On a cluster (the embedded node: test/e2e/workspaces.test.ts runs it), with an agent's
      settings (its ConfigMap `agent-<name>-workspaces`). Cold: HardenedK8sWorkspace.initialize as
      a new session's first turn runs it, split into the pod's create call, create -> Running (the
      kubelet's pull figure from the pod's `Pulled` event beside it), and the gateway brought up
      through exec; then the turn's `python3` through the workspace's exec. Warm: the same workspace
      taken from PooledK8sWorkspaceManager (a pool of 1, refilled between samples), then `python3`.

  ... cluster --settings workspace-pods.json --cold 0 --warm 0 --burst 10 --burst-cpu 0.02
      Also a burst: a warm pool of N filled first (its fill time), then N new sessions at once,
      each taking a workspace and running `python3`; their times and failures. `--burst-cpu`
      requests that much CPU per workspace pod, its limit 1 vCPU, so that N pods fit beside the
      stack on the 2-core node: the burst measures concurrency there, not one pod's speed.

Prints one JSON object (medians, p95, every sample) on its last line.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandbox_start import free_port, limited_cgroup  # noqa: E402

DEMO = "print(sorted([64, 34, 25, 12, 22, 11, 90]))"
PULLED = re.compile(r"in (\d+(?:\.\d+)?)(ms|s)")


def summary(xs: list[float]) -> dict[str, float | int]:
    if not xs:
        return {"n": 0}
    s = sorted(xs)
    return {"n": len(s), "p50": round(statistics.median(s), 3), "p95": round(s[min(len(s) - 1, int(0.95 * len(s)))], 3),
            "min": round(s[0], 3), "max": round(s[-1], 3)}


# ── the in-pod gateway, off-cluster ───────────────────────────────────────────────────────────

def gateway_run(python: str, group: Path | None) -> float:
    from agentscope.workspace._utils import _read_gateway_script_bytes, _read_glob_helper_bytes

    with tempfile.TemporaryDirectory() as home:
        Path(home, "_glob_helper.py").write_bytes(_read_glob_helper_bytes())
        script = Path(home, "_mcp_gateway_app.py")
        script.write_bytes(_read_gateway_script_bytes())
        port = free_port()
        pre = (lambda: (group / "tasks").write_text(str(__import__("os").getpid()))) if group else None
        started = time.perf_counter()
        proc = subprocess.Popen([python, "-u", str(script), "--port", str(port)], preexec_fn=pre,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=home)
        try:
            while time.perf_counter() - started < 120:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                        if r.status == 200:
                            return time.perf_counter() - started
                except OSError:
                    pass
                if proc.poll() is not None:
                    raise RuntimeError(f"the gateway exited with {proc.returncode}")
                time.sleep(0.02)
            raise RuntimeError("no /health within 120 s")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def gateway(args: argparse.Namespace) -> dict[str, Any]:
    # --cpu 0: no quota of its own, e.g. inside `podman run --cpus …`, whose limit is the container's.
    group = limited_cgroup(args.cpu) if args.cpu > 0 else None
    try:
        times = [gateway_run(sys.executable, group) for _ in range(args.runs)]
    finally:
        if group is not None:
            group.rmdir()
    return {"gateway_start_s": summary(times), "cpu_quota": args.cpu if group else None, "samples": [round(t, 3) for t in times]}


# ── on a cluster ──────────────────────────────────────────────────────────────────────────────

@dataclasses.dataclass
class ColdSample:
    create_call: float = 0.0
    create_to_running: float = 0.0
    provision: float = 0.0
    gateway: float = 0.0
    initialize: float = 0.0
    exec_python: float = 0.0
    kubelet_pull: float | None = None
    image_present: bool = False


async def pod_events(v1: Any, namespace: str, pod: str) -> list[str]:
    events = await v1.list_namespaced_event(namespace, field_selector=f"involvedObject.name={pod}")
    return [f"{e.reason}: {e.message}" for e in events.items]


def pull_figure(events: list[str]) -> tuple[float | None, bool]:
    for line in events:
        if line.startswith("Pulled:"):
            if "already present" in line:
                return None, True
            m = PULLED.search(line)
            if m:
                return float(m.group(1)) / (1000 if m.group(2) == "ms" else 1), False
    return None, False


async def run_python(ws: Any) -> float:
    started = time.perf_counter()
    result = await ws.get_backend().exec_shell(["python3", "-c", DEMO])
    if "[11, 12, 22, 25, 34, 64, 90]" not in result.stdout.decode():
        raise RuntimeError(f"python3 in the workspace: {result.stdout!r} {result.stderr!r}")
    return time.perf_counter() - started


async def cold_once(settings: Any) -> ColdSample:
    from agentscope2_launcher.k8s_workspaces import HardenedK8sWorkspace

    sample = ColdSample()
    ws = HardenedK8sWorkspace(settings=settings)
    timed = {"_create_pod": "create_call", "_wait_pod_running": "create_to_running", "_provision_backend": "provision", "_setup_mcp_gateway": "gateway"}
    for method, field in timed.items():
        inner = getattr(ws, method)

        async def wrapper(*a: Any, _inner: Any = inner, _field: str = field, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return await _inner(*a, **kw)
            finally:
                setattr(sample, _field, getattr(sample, _field) + time.perf_counter() - t)
        setattr(ws, method, wrapper)
    started = time.perf_counter()
    try:
        await ws.initialize()
        sample.initialize = time.perf_counter() - started
        sample.exec_python = await run_python(ws)
        sample.kubelet_pull, sample.image_present = pull_figure(await pod_events(ws._v1, settings.namespace, ws._pod_name))
    finally:
        await ws.close()
    return sample


async def warm_samples(settings: Any, n: int) -> list[float]:
    from agentscope2_launcher.workspace_pool import PooledK8sWorkspaceManager
    from agentscope2_launcher.workspace_settings import WarmPoolSettings

    manager = PooledK8sWorkspaceManager(settings, WarmPoolSettings(1, 1, 0, 300.0), owner="bench")
    out: list[float] = []
    async with manager:
        for i in range(n):
            deadline = time.monotonic() + 300
            while manager.warm() < 1:
                if time.monotonic() > deadline:
                    raise RuntimeError("the pool did not refill within 300 s")
                await asyncio.sleep(0.2)
            started = time.perf_counter()
            workspace_id = await manager.assign_workspace_id(user_id=f"bench-{i}", agent_id="bench", session_id=f"s{i}")
            ws = await manager.get_workspace(f"bench-{i}", "bench", f"s{i}", workspace_id)
            await run_python(ws)
            out.append(time.perf_counter() - started)
            await manager.close(workspace_id)
    return out


async def burst(settings: Any, n: int) -> dict[str, Any]:
    from agentscope2_launcher.workspace_pool import PooledK8sWorkspaceManager
    from agentscope2_launcher.workspace_settings import WarmPoolSettings

    manager = PooledK8sWorkspaceManager(settings, WarmPoolSettings(n, n, 0, 300.0), owner="bench-burst")
    async with manager:
        started = time.perf_counter()
        while manager.warm() < n:
            if time.perf_counter() - started > 900:
                raise RuntimeError(f"the pool of {n} did not fill within 900 s ({manager.warm()} warm)")
            await asyncio.sleep(0.5)
        fill = time.perf_counter() - started

        async def session(i: int) -> tuple[str, float]:
            began = time.perf_counter()
            workspace_id = await manager.assign_workspace_id(user_id=f"burst-{i}", agent_id="bench", session_id=f"b{i}")
            ws = await manager.get_workspace(f"burst-{i}", "bench", f"b{i}", workspace_id)
            await run_python(ws)
            return workspace_id, time.perf_counter() - began

        results = await asyncio.gather(*(session(i) for i in range(n)), return_exceptions=True)
        served = [r for r in results if not isinstance(r, BaseException)]
        for workspace_id, _ in served:
            await manager.close(workspace_id)
    return {"sessions": n, "pool": n, "fill_s": round(fill, 2),
            "first_turn_workspace_s": summary([t for _, t in served]),
            "failures": [repr(r) for r in results if isinstance(r, BaseException)]}


def burst_sized(data: dict[str, Any], cpu: float) -> dict[str, Any]:
    """The settings with `cpu` requested per pod and a limit of 1 vCPU (Burstable)."""
    resources = {k: dict(v) for k, v in data["resources"].items()}
    resources.setdefault("requests", {})["cpu"] = f"{round(cpu * 1000)}m"
    resources.setdefault("limits", {})["cpu"] = "1"
    return {**data, "resources": resources}


async def cluster(args: argparse.Namespace) -> dict[str, Any]:
    from agentscope2_launcher.workspace_settings import WorkspacePodSettings

    data = json.loads(Path(args.settings).read_text())
    # New ids for every sample (per_session), storage as the agent has it; no pool of the agent's.
    settings = WorkspacePodSettings.from_json({**data, "isolation": "per_session", "warmPool": None})
    cold = [await cold_once(settings) for _ in range(args.cold)]
    warm = await warm_samples(settings, args.warm) if args.warm else []
    pulls = [c.kubelet_pull for c in cold if c.kubelet_pull is not None]
    bursts: dict[str, Any] = {}
    if args.burst:
        sized = burst_sized(data, args.burst_cpu) if args.burst_cpu else data
        burst_settings = WorkspacePodSettings.from_json({**sized, "isolation": "per_session", "warmPool": None})
        bursts = {"burst": {**await burst(burst_settings, args.burst), "cpu_requested": args.burst_cpu or None}}
    return {
        **bursts,
        "cold": {
            "first_turn_workspace_s": summary([c.initialize + c.exec_python for c in cold]),
            "initialize_s": summary([c.initialize for c in cold]),
            "create_call_s": summary([c.create_call for c in cold]),
            "create_to_running_s": summary([c.create_to_running for c in cold]),
            "gateway_s": summary([c.gateway for c in cold]),
            "rest_of_initialize_s": summary([c.initialize - c.provision - c.gateway for c in cold]),
            "exec_python_s": summary([c.exec_python for c in cold]),
            "kubelet_pull_s": summary(pulls),
            "image_present_runs": sum(c.image_present for c in cold),
        },
        "warm": {"first_turn_workspace_s": summary(warm), "exec_included": True},
        "samples": {"cold": [dataclasses.asdict(c) for c in cold], "warm": [round(w, 3) for w in warm]},
    }


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    g = sub.add_parser("gateway")
    g.add_argument("--cpu", type=float, default=0.25)
    g.add_argument("--runs", type=int, default=7)
    c = sub.add_parser("cluster")
    c.add_argument("--settings", required=True)
    c.add_argument("--cold", type=int, default=10)
    c.add_argument("--warm", type=int, default=20)
    c.add_argument("--burst", type=int, default=0, help="new sessions at once from a warm pool of as many")
    c.add_argument("--burst-cpu", type=float, default=0.0, help="vCPU requested per workspace pod in the burst (limit 1)")
    args = p.parse_args()
    # A SIGTERM (a caller's time-out) unwinds like ^C: every `finally` deletes what it made.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    result = gateway(args) if args.mode == "gateway" else asyncio.run(cluster(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
