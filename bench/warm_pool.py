"""Benchmark: the warm sandbox pool against a cold create, and the seed's request end to end,
on a running stack (`npm run local`, or any cluster the kubeconfig names).

A claim is what the agent does at its first tool call (friday/tools.py SandboxLease): ask the
manager for a sandbox (`create_from_pool`) and run code in it. Each round waits until the pool
is full, claims one sandbox (warm: the pool hands one out) and then a second at once (cold: the
pool is empty, so the manager creates a pod and waits for it), and gives both back. A claim
counts as cold when its pod was created after the claim began, whatever the round expected.

Run through bench/warm-pool.sh, which finds the namespaces, Services and tokens.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime

import httpx
from agentscope_runtime.sandbox import BaseSandboxAsync
from agentscope_runtime.sandbox.enums import SandboxType

SEED_REQUEST = "请帮我使用python生成一段冒泡排序算法,并执行"
SORTED = "[11, 12, 22, 25, 34, 64, 90]"
PROBE = "print('sandbox ready')"
# A pod turns Ready before the pool holds it: upstream's create polls the pod every 2 s
# (kubernetes_client.py wait_for_pod_ready) and its watcher runs every second.
ENQUEUE_LAG_S = 3.5


@dataclass
class Claim:
    seconds: float
    cold: bool
    pod: str


def kubectl_json(*args: str) -> dict:
    out = subprocess.run(["kubectl", *args, "-o", "json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def sandbox_pods(namespace: str) -> list[dict]:
    return kubectl_json("get", "pods", "-n", namespace, "-l", "app.kubernetes.io/component=sandbox")["items"]


def is_ready(pod: dict) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def pool_full(namespace: str, size: int, timeout: float = 300) -> None:
    """Waits until exactly `size` sandbox pods exist, all Ready, none being deleted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = sandbox_pods(namespace)
        if len(pods) == size and all(is_ready(p) and not p["metadata"].get("deletionTimestamp") for p in pods):
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"the pool did not come back to {size} ready sandbox(es) in {timeout:.0f}s")


async def pool_warm(namespace: str, size: int) -> list[str]:
    """Waits for a full pool and its enqueueing; returns the warm pods' names."""
    await pool_full(namespace, size)
    await asyncio.sleep(ENQUEUE_LAG_S)
    return [p["metadata"]["name"] for p in sandbox_pods(namespace)]


async def claimed_a_warm_one(namespace: str, warm: list[str], timeout: float = 30) -> bool:
    """After a turn: did one of the pods warm before it get released (deleted)? A turn that
    created its sandbox leaves every warm pod in place."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = {p["metadata"]["name"] for p in sandbox_pods(namespace) if not p["metadata"].get("deletionTimestamp")}
        if any(name not in live for name in warm):
            return True
        await asyncio.sleep(0.5)
    return False


def created_at(namespace: str, pod: str) -> float:
    stamp = kubectl_json("get", "pod", pod, "-n", namespace)["metadata"]["creationTimestamp"]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


async def claim(manager_url: str, token: str, sandbox_type: str) -> tuple[BaseSandboxAsync, float, float]:
    """Claims a sandbox and runs code in it, as the agent does; returns it, the wall-clock start
    and the seconds until the code's output came back."""
    started_wall, started = time.time(), time.perf_counter()
    box = BaseSandboxAsync(base_url=manager_url, bearer_token=token, sandbox_type=SandboxType(sandbox_type))
    await box.start_async()
    result = await box.call_tool_async("run_ipython_cell", {"code": PROBE})
    seconds = time.perf_counter() - started
    if "sandbox ready" not in json.dumps(result):
        raise RuntimeError(f"the code did not run in sandbox {box.sandbox_id}: {result}")
    return box, started_wall, seconds


async def release(box: BaseSandboxAsync) -> None:
    try:
        await box.close_async()
    finally:
        await box.manager_api.httpx_client.aclose()
        box.manager_api.http_session.close()


async def claims(args: argparse.Namespace, token: str) -> list[Claim]:
    out: list[Claim] = []
    for i in range(args.rounds):
        await pool_warm(args.sandbox_namespace, args.pool_size)
        boxes = []
        for _ in range(args.pool_size + 1):  # the pool's sandboxes, then one it does not have
            box, started, seconds = await claim(args.manager_url, token, args.sandbox_type)
            boxes.append(box)
            # Creation timestamps have whole seconds: a pod made in the claim's second is the claim's.
            cold = created_at(args.sandbox_namespace, box.sandbox_id) >= int(started)
            out.append(Claim(seconds, cold, box.sandbox_id))
        for box in boxes:
            await release(box)
        print(f"round {i + 1}/{args.rounds}: " + ", ".join(f"{'cold' if c.cold else 'warm'} {c.seconds:.3f}s" for c in out[-len(boxes):]), file=sys.stderr)
    return out


async def seed_requests(args: argparse.Namespace, token: str) -> list[Claim]:
    out: list[Claim] = []
    async with httpx.AsyncClient(timeout=180) as client:
        for i in range(args.requests):
            warm = await pool_warm(args.sandbox_namespace, args.pool_size)
            body = {"input": [{"role": "user", "content": [{"type": "text", "text": SEED_REQUEST}]}],
                    "session_id": f"bench-{int(time.time())}-{i}", "user_id": "bench"}
            started = time.perf_counter()
            res = await client.post(f"{args.agent_url}/process", json=body, headers={"Authorization": f"Bearer {token}"})
            seconds = time.perf_counter() - started
            if res.status_code != 200 or SORTED not in res.text:
                raise RuntimeError(f"request {i + 1}: status {res.status_code}, no sorted list in: {res.text[-1000:]}")
            cold = not await claimed_a_warm_one(args.sandbox_namespace, warm)
            out.append(Claim(seconds, cold, ""))
            print(f"seed request {i + 1}/{args.requests}: {seconds:.3f}s ({'cold' if cold else 'warm'} sandbox)", file=sys.stderr)
    return out


def p(values: list[float], q: int) -> float:
    """The q-th percentile (inclusive method), so p50 is the median."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def row(name: str, values: list[float]) -> str:
    return f"| {name} | {len(values)} | {p(values, 50):.3f} | {p(values, 95):.3f} | {min(values):.3f} | {max(values):.3f} |"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manager-url", required=True)
    ap.add_argument("--manager-token-file", required=True)
    ap.add_argument("--agent-url", required=True)
    ap.add_argument("--agent-token-file", required=True)
    ap.add_argument("--sandbox-namespace", required=True)
    ap.add_argument("--sandbox-type", default="base")
    ap.add_argument("--pool-size", type=int, required=True)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()
    if args.pool_size < 1:
        ap.error("--pool-size must be at least 1: with no warm pool there is nothing to compare")
    manager_token = open(args.manager_token_file).read().strip()
    agent_token = open(args.agent_token_file).read().strip()

    results = asyncio.run(claims(args, manager_token)) if args.rounds > 0 else []
    warm = [c.seconds for c in results if not c.cold]
    cold = [c.seconds for c in results if c.cold]
    turns = asyncio.run(seed_requests(args, agent_token)) if args.requests > 0 else []
    seed = [t.seconds for t in turns]
    seed_warm = [t.seconds for t in turns if not t.cold]

    print("| what | n | p50 s | p95 s | min s | max s |")
    print("| --- | --- | --- | --- | --- | --- |")
    if warm:
        print(row("claim from the warm pool, code run", warm))
    if cold:
        print(row("claim with the pool empty (cold create), code run", cold))
    if seed:
        print(row("seed request end to end (stand-in model), all", seed))
    if seed_warm:
        print(row("seed request whose sandbox came from the warm pool", seed_warm))
    if warm and cold:
        print(f"\ncold p50 / warm p50: {p(cold, 50) / p(warm, 50):.1f}x")
    if seed:
        print(f"seed requests that found the pool empty: {len(seed) - len(seed_warm)} of {len(seed)}")
    return 0 if (warm and cold) or (args.rounds == 0 and seed) else 1


if __name__ == "__main__":
    sys.exit(main())
