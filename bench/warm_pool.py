"""Benchmark: the warm sandbox pool against a cold create, and the seed's request end to end,
on a running stack (`npm run local`, or any cluster the kubeconfig names).

A claim is what the agent does at its first tool call (friday/tools.py SandboxLease): ask the
manager for a sandbox (`create_from_pool`) and run code in it. Each round waits until the pool
is full, claims one sandbox (warm: the pool hands one out) and then a second at once (cold: the
pool is empty, so the manager creates a pod and waits for it), and gives both back. A claim
counts as cold when its pod was created after the claim began, whatever the round expected.

Further measures, each on its own flag (docs/sandbox-pool.md):
- `--cold N`: N claims one after another with the pool configured empty (poolSize 0), each a
  create for that claim alone, the previous sandbox gone first;
- `--gap S`: seed requests sent S seconds apart without waiting for the pool (issue 23's five
  requests 4 s apart), end to end;
- `--burst N`: N claims at once from a full pool, made inside the agent's pod (bench/burst_in_pod.py,
  no port-forward), p50/p95 and failures, then the refill time (from the burst's start until the
  pool holds its size again, all Ready);
- `--reap-agent-pod`: a sandbox claimed from inside the agent's pod (so that pod is its owner),
  the pod force-deleted, and the time until the sandbox's pod is being deleted;
- `--count-api`: API-server requests (apiserver_request_total, every client: the manager, the
  scheduler, kubelets, controllers) and the manager's CPU (/proc/1/stat in its container) over
  the warm-claim rounds, per claim.

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
from pathlib import Path

import httpx
from agentscope_runtime.sandbox import BaseSandboxAsync
from agentscope_runtime.sandbox.enums import SandboxType
from burst_in_pod import PROBE, release

SEED_REQUEST = "请帮我使用python生成一段冒泡排序算法,并执行"
SORTED = "[11, 12, 22, 25, 34, 64, 90]"
# A pod turns Ready a moment before the pool holds it (the manager's watch event, then its GETs of
# the pod); upstream's 2 s poll made this up to 3.5 s, kept as a margin for older managers.
ENQUEUE_LAG_S = 3.5


@dataclass
class Claim:
    seconds: float
    cold: bool
    pod: str
    claim_s: float = 0.0  # create_from_pool answered
    run_s: float = 0.0  # the code run, forwarded by the manager to the sandbox, answered


def kubectl_json(*args: str) -> dict:
    out = subprocess.run(["kubectl", *args, "-o", "json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def sandbox_pods(namespace: str) -> list[dict]:
    return kubectl_json("get", "pods", "-n", namespace, "-l", "app.kubernetes.io/component=sandbox")["items"]


def is_ready(pod: dict) -> bool:
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def pool_full(namespace: str, size: int, timeout: float | None = None) -> None:
    """Waits until exactly `size` sandbox pods exist, all Ready, none being deleted (by default up
    to 5 min plus 15 s a sandbox: a pool of 20 starts on the 2-core node, all at once)."""
    timeout = 300 + 15 * size if timeout is None else timeout
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


SPLITS: dict[str, tuple[float, float]] = {}  # sandbox id -> (claim s, run s), the two halves of a claim


async def claim(manager_url: str, token: str, sandbox_type: str) -> tuple[BaseSandboxAsync, float, float]:
    """Claims a sandbox and runs code in it, as the agent does; returns it, the wall-clock start
    and the seconds until the code's output came back (its halves in SPLITS)."""
    started_wall, started = time.time(), time.perf_counter()
    box = BaseSandboxAsync(base_url=manager_url, bearer_token=token, sandbox_type=SandboxType(sandbox_type))
    await box.start_async()
    claimed = time.perf_counter()
    result = await box.call_tool_async("run_ipython_cell", {"code": PROBE})
    done = time.perf_counter()
    if "sandbox ready" not in json.dumps(result):
        raise RuntimeError(f"the code did not run in sandbox {box.sandbox_id}: {result}")
    SPLITS[box.sandbox_id] = (claimed - started, done - claimed)
    return box, started_wall, done - started


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
            out.append(Claim(seconds, cold, box.sandbox_id, *SPLITS[box.sandbox_id]))
        for box in boxes:
            await release(box)
        print(f"round {i + 1}/{args.rounds}: " + ", ".join(f"{'cold' if c.cold else 'warm'} {c.seconds:.3f}s" for c in out[-len(boxes):]), file=sys.stderr)
    return out


async def cold_claims(args: argparse.Namespace, token: str) -> list[Claim]:
    out: list[Claim] = []
    for i in range(args.cold):
        await pool_full(args.sandbox_namespace, 0)  # no sandbox alive, none being deleted
        box, _, seconds = await claim(args.manager_url, token, args.sandbox_type)
        out.append(Claim(seconds, True, box.sandbox_id, *SPLITS[box.sandbox_id]))
        await release(box)
        print(f"cold claim {i + 1}/{args.cold}: {seconds:.3f}s", file=sys.stderr)
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


async def seed_request(client: httpx.AsyncClient, args: argparse.Namespace, token: str, i: int) -> float:
    body = {"input": [{"role": "user", "content": [{"type": "text", "text": SEED_REQUEST}]}],
            "session_id": f"bench-{int(time.time())}-{i}", "user_id": "bench"}
    started = time.perf_counter()
    res = await client.post(f"{args.agent_url}/process", json=body, headers={"Authorization": f"Bearer {token}"})
    if res.status_code != 200 or SORTED not in res.text:
        raise RuntimeError(f"request {i + 1}: status {res.status_code}, no sorted list in: {res.text[-1000:]}")
    return time.perf_counter() - started


def claims_by_source(metrics_url: str) -> dict[str, float]:
    """The manager's agentscope_sandbox_claims_total, summed by source (warm: the pool's sandbox,
    or the refill under way; cold: a create for that claim)."""
    if not metrics_url:
        return {}
    out: dict[str, float] = {}
    for line in httpx.get(metrics_url, timeout=10).text.splitlines():
        if line.startswith("agentscope_sandbox_claims_total{"):
            source = line.split('source="', 1)[1].split('"', 1)[0]
            out[source] = out.get(source, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def claim_buckets(metrics_url: str) -> dict[float, float]:
    """The manager's own claim durations (agentscope_sandbox_claim_duration_seconds, cumulative
    buckets summed over types, and their sum under the key -1): the claim without the bench's
    port-forward and client."""
    if not metrics_url:
        return {}
    out: dict[float, float] = {}
    for line in httpx.get(metrics_url, timeout=10).text.splitlines():
        if line.startswith("agentscope_sandbox_claim_duration_seconds_bucket{"):
            le = float(line.split('le="', 1)[1].split('"', 1)[0])
            out[le] = out.get(le, 0.0) + float(line.rsplit(" ", 1)[1])
        elif line.startswith("agentscope_sandbox_claim_duration_seconds_sum{"):
            out[-1.0] = out.get(-1.0, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def manager_side(before: dict[float, float], after: dict[float, float]) -> str:
    """'n claims; p50 ≤ X s, p95 ≤ Y s' from two readings of the buckets (bucket bounds, not exact)."""
    total = after.get(-1.0, 0.0) - before.get(-1.0, 0.0)
    delta = sorted((le, after[le] - before.get(le, 0.0)) for le in after if le >= 0)
    n = delta[-1][1] if delta else 0
    if n <= 0:
        return "no claims counted"

    def bound(q: float) -> str:
        return next((f"{le:g}" for le, count in delta if count >= q * n), "inf")
    return f"{n:.0f} claims; mean {total / n:.3f} s, p50 ≤ {bound(0.5)} s, p95 ≤ {bound(0.95)} s (histogram buckets)"


async def spaced_seed_requests(args: argparse.Namespace, token: str) -> list[float]:
    """Seed requests started `args.gap` seconds apart, the pool left to refill on its own."""
    await pool_warm(args.sandbox_namespace, args.pool_size)
    before = claims_by_source(args.metrics_url)
    async with httpx.AsyncClient(timeout=180) as client:
        tasks = []
        for i in range(args.requests):
            tasks.append(asyncio.create_task(seed_request(client, args, token, i)))
            await asyncio.sleep(args.gap)
        seconds = list(await asyncio.gather(*tasks))
    print("spaced seed requests: " + ", ".join(f"{x:.2f}s" for x in seconds), file=sys.stderr)
    if args.metrics_url:
        after = claims_by_source(args.metrics_url)
        delta = {k: int(after.get(k, 0) - before.get(k, 0)) for k in ("warm", "cold")}
        print(f"their claims by the manager's counter: {delta['warm']} from the pool (or its refill under way), "
              f"{delta['cold']} created for the claim")
    return seconds


async def burst(args: argparse.Namespace) -> tuple[list[float], int, float, int]:
    """`args.burst` claims at once from a full pool, made inside the agent's pod as the agent makes
    them (bench/burst_in_pod.py: the manager's Service, no port-forward): their times, failures, the
    refill time (from the burst's start until a full pool stands beside the claimed sandboxes, all
    Ready), and how many claims the pool served (the others' sandboxes were created for them). After
    the release it waits for the pool to be back at its size, nothing beyond it."""
    warm = set(await pool_warm(args.sandbox_namespace, args.pool_size))
    buckets = claim_buckets(args.metrics_url)
    client = await asyncio.create_subprocess_exec(
        "kubectl", "exec", "-i", "-n", args.agent_namespace, agent_pod(args), "-c", "agent", "--",
        "python", "-c", BURST_CLIENT.read_text(), str(args.burst),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert client.stdout is not None and client.stdin is not None
    started = time.perf_counter()
    line = await asyncio.wait_for(client.stdout.readline(), 600)
    if not line:
        raise RuntimeError("the burst client in the agent pod printed nothing")
    results = json.loads(line)
    done = [r for r in results if "error" not in r]
    seconds = [r["claim_s"] + r["run_s"] for r in done]
    if done:
        print(f"burst halves: claim p50 {p([r['claim_s'] for r in done], 50):.3f} s "
              f"p95 {p([r['claim_s'] for r in done], 95):.3f} s, run p50 {p([r['run_s'] for r in done], 50):.3f} s "
              f"p95 {p([r['run_s'] for r in done], 95):.3f} s", file=sys.stderr)
    if args.metrics_url:
        print(f"burst claims in the manager: {manager_side(buckets, claim_buckets(args.metrics_url))}", file=sys.stderr)
    for r in results:
        if "error" in r:
            print(f"burst claim failed: {r['error']}", file=sys.stderr)
    claimed = {r["id"] for r in results if "id" in r}
    try:
        await pool_full_beside(args.sandbox_namespace, claimed, args.pool_size)
        refill = time.perf_counter() - started
    finally:
        client.stdin.write(b"release\n")
        await client.stdin.drain()
        client.stdin.close()
        await asyncio.wait_for(client.wait(), 120)
    await pool_full(args.sandbox_namespace, args.pool_size)
    print(f"after the release: the pool back at {args.pool_size}, no other sandbox pod", file=sys.stderr)
    return seconds, len(results) - len(done), refill, sum(1 for r in done if r["id"] in warm)


async def pool_full_beside(namespace: str, claimed: set[str], size: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        warm = [p for p in sandbox_pods(namespace) if p["metadata"]["name"] not in claimed
                and not p["metadata"].get("deletionTimestamp")]
        if len(warm) >= size and all(is_ready(p) for p in warm):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the pool did not refill to {size} beside {len(claimed)} claimed sandboxes")


# Claims a sandbox inside the agent's container as the agent does, prints its id and holds it.
HOLDER = Path(__file__).resolve().parent.parent / "test" / "e2e" / "fixtures" / "hold_sandbox.py"
# Makes a burst's claims inside the agent's container.
BURST_CLIENT = Path(__file__).resolve().parent / "burst_in_pod.py"


def agent_pod(args: argparse.Namespace) -> str:
    """The name of one pod of the agent's Service."""
    selector = kubectl_json("get", "svc", "-n", args.agent_namespace, args.agent_service)["spec"]["selector"]
    return kubectl_json("get", "pods", "-n", args.agent_namespace, "-l",
                        ",".join(f"{k}={v}" for k, v in selector.items()))["items"][0]["metadata"]["name"]


async def reap_after_agent_pod_dies(args: argparse.Namespace) -> float:
    """Seconds from force-deleting an agent pod that holds a sandbox (claimed from inside it, so
    the manager sees that pod as the owner) to that sandbox's pod being deleted."""
    await pool_warm(args.sandbox_namespace, args.pool_size)
    pod = agent_pod(args)
    holder = await asyncio.create_subprocess_exec(
        "kubectl", "exec", "-i", "-n", args.agent_namespace, pod, "-c", "agent", "--", "python", "-",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert holder.stdout is not None and holder.stdin is not None
    holder.stdin.write(HOLDER.read_bytes())
    await holder.stdin.drain()
    holder.stdin.close()
    sandbox = (await asyncio.wait_for(holder.stdout.readline(), 120)).decode().strip()
    if not sandbox:
        raise RuntimeError("the agent pod did not claim a sandbox")
    await asyncio.sleep(2)  # the owner recorded (a worker resolves the claim's IP right after it)
    subprocess.run(["kubectl", "delete", "pod", "-n", args.agent_namespace, pod, "--grace-period=0",
                    "--force", "--wait=false"], check=True, capture_output=True)
    killed = time.perf_counter()
    holder.kill()
    while time.perf_counter() - killed < 180:
        live = {p["metadata"]["name"] for p in sandbox_pods(args.sandbox_namespace) if not p["metadata"].get("deletionTimestamp")}
        if sandbox not in live:
            return time.perf_counter() - killed
        await asyncio.sleep(0.2)
    raise TimeoutError(f"sandbox {sandbox} of the dead agent pod was not released within 180 s")


def api_requests() -> dict[str, float]:
    """apiserver_request_total summed by verb and resource (every client)."""
    text = subprocess.run(["kubectl", "get", "--raw", "/metrics"], check=True, capture_output=True, text=True).stdout
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("apiserver_request_total{"):
            labels = dict(kv.split("=", 1) for kv in line[line.index("{") + 1:line.index("}")].split(","))
            key = f"{labels.get('verb', '').strip(chr(34))} {labels.get('resource', '').strip(chr(34))}"
            out[key] = out.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def manager_cpu_seconds(namespace: str) -> float:
    code = "f=open('/proc/1/stat').read().rsplit(')',1)[1].split();import os;print((int(f[11])+int(f[12]))/os.sysconf('SC_CLK_TCK'))"
    out = subprocess.run(["kubectl", "exec", "-n", namespace, "deploy/sandbox-manager", "--", "python", "-c", code],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip())


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
    ap.add_argument("--gap", type=float, default=0.0, help="send the seed requests this many seconds apart")
    ap.add_argument("--burst", type=int, default=0, help="claims at once from a full pool")
    ap.add_argument("--cold", type=int, default=0, help="claims one at a time on a pool configured empty")
    ap.add_argument("--reap-agent-pod", action="store_true")
    ap.add_argument("--agent-namespace", default="")
    ap.add_argument("--agent-service", default="")
    ap.add_argument("--manager-namespace", default="")
    ap.add_argument("--count-api", action="store_true")
    ap.add_argument("--metrics-url", default="", help="the manager's /metrics (its claim counters by source)")
    args = ap.parse_args()
    if (args.pool_size < 1) != (args.cold > 0):
        ap.error("--cold needs a pool configured empty (sandbox.poolSize 0); everything else a pool of at least 1")
    manager_token = open(args.manager_token_file).read().strip()
    agent_token = open(args.agent_token_file).read().strip()

    before = (api_requests(), manager_cpu_seconds(args.manager_namespace)) if args.count_api else None
    results = asyncio.run(claims(args, manager_token)) if args.rounds > 0 else []
    if before is not None and results:
        after, cpu = api_requests(), manager_cpu_seconds(args.manager_namespace)
        n = len(results)
        print(f"\nper claim (claim, refill, release; {n} claims): manager CPU {(cpu - before[1]) / n:.3f} s")
        for key in sorted(after):
            if (delta := after[key] - before[0].get(key, 0.0)) > 0:
                print(f"  API requests {key}: {delta / n:.2f}")
    if args.cold:
        results += asyncio.run(cold_claims(args, manager_token))
    warm = [c.seconds for c in results if not c.cold]
    cold = [c.seconds for c in results if c.cold]
    if args.burst:
        times, failures, refill, from_pool = asyncio.run(burst(args))
        print(f"| burst of {args.burst}, pool {args.pool_size} | {len(times)} | {p(times, 50):.3f} | {p(times, 95):.3f} | "
              f"{min(times):.3f} | {max(times):.3f} |  failures {failures}, from the pool {from_pool}, "
              f"created for the claim {len(times) - from_pool}, refill {refill:.1f} s")
    if args.reap_agent_pod:
        print(f"dead agent pod's sandbox released after {asyncio.run(reap_after_agent_pod_dies(args)):.1f} s")
    if args.gap and args.requests:
        spaced = asyncio.run(spaced_seed_requests(args, agent_token))
        print(f"seed requests {args.gap:.0f} s apart: " + ", ".join(f"{x:.2f}" for x in spaced) + " s")
        return 0
    turns = asyncio.run(seed_requests(args, agent_token)) if args.requests > 0 else []
    seed = [t.seconds for t in turns]
    seed_warm = [t.seconds for t in turns if not t.cold]

    print("| what | n | p50 s | p95 s | min s | max s |")
    print("| --- | --- | --- | --- | --- | --- |")
    if warm:
        print(row("claim from the warm pool, code run", warm))
        print(row("  of which the claim (create_from_pool)", [c.claim_s for c in results if not c.cold]))
        print(row("  of which the code run", [c.run_s for c in results if not c.cold]))
    if cold:
        print(row("claim with the pool empty (cold create), code run", cold))
        print(row("  of which the claim (create_from_pool)", [c.claim_s for c in results if c.cold]))
    if seed:
        print(row("seed request end to end (stand-in model), all", seed))
    if seed_warm:
        print(row("seed request whose sandbox came from the warm pool", seed_warm))
    if warm and cold:
        print(f"\ncold p50 / warm p50: {p(cold, 50) / p(warm, 50):.1f}x")
    if seed:
        print(f"seed requests that found the pool empty: {len(seed) - len(seed_warm)} of {len(seed)}")
    return 0 if (warm and cold) or args.rounds == 0 or args.cold else 1


if __name__ == "__main__":
    sys.exit(main())
