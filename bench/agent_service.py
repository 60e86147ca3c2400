"""Benchmark: the agent service under more turns than it admits, and under slow clients
(issue 22). One agent process (`python -m friday` from the test virtualenv, not the image) with
the scripted model (test/python/fake_model.py) and a real redis-server, all on loopback; the
gateway (components/assets/gateway.py) in front where asked.

  admission N LIMIT SECONDS  N turns at once, each its own session, each a model answer of SECONDS;
                             then N/2 sessions with two turns each at once. Reports how each ended
                             (completed / 429 / anything else), p50/p95 of completed, agent CPU per
                             turn, peak RSS, lease warnings in the agent's log, and whether any
                             session ran two turns.
  slowloris N [--gateway]    N stalled connections (a third silent, a third with partial headers, a
                             third with a partial body) held open; a real turn's latency beside
                             them and without them; how many are still open over time. The agent's
                             connection cap is raised to N + 64 so that the real turns fit.

Usage: .venv/agent-tests/bin/python bench/agent_service.py admission 200 150 5
       .venv/agent-tests/bin/python bench/agent_service.py slowloris 200 --gateway
Prints JSON lines.
"""
from __future__ import annotations

import asyncio
import collections
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test" / "python"))

from conftest import TOKEN, Agent, free_port, model_env  # noqa: E402
from fake_model import WAIT, FakeModel  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def body(text: str, session: str) -> dict[str, Any]:
    return {"input": [{"role": "user", "content": [{"type": "text", "text": text}]}], "session_id": session}


async def turn(client: httpx.AsyncClient, text: str, session: str) -> tuple[float, str]:
    """(seconds, outcome): `completed`, `429`, another HTTP status, or the final event's status/code."""
    started = time.perf_counter()
    last: dict[str, Any] = {}
    async with client.stream("POST", "/process", json=body(text, session)) as r:
        if r.status_code != 200:
            await r.aread()
            return time.perf_counter() - started, str(r.status_code)
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                last = json.loads(line[6:])
    outcome = str(last.get("status"))
    if last.get("error"):
        outcome += ":" + str(last["error"].get("code"))
    return time.perf_counter() - started, outcome


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[max(0, int(round(p * len(values))) - 1)], 3)


async def burst(url: str, requests: list[tuple[str, str]]) -> list[tuple[float, str]]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=len(requests))
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"},
                                 timeout=300, limits=limits) as client:
        return await asyncio.gather(*(turn(client, text, s) for text, s in requests))


def summary(results: list[tuple[float, str]]) -> dict[str, Any]:
    done = [t for t, o in results if o == "completed"]
    return {"outcomes": dict(collections.Counter(o for _, o in results)),
            "p50_s": percentile(done, 0.5), "p95_s": percentile(done, 0.95)}


def log_lines(agent: Agent) -> list[dict[str, Any]]:
    return agent.log_lines()


def admission(agent: Agent, n: int, seconds: float) -> None:
    assert agent.proc is not None
    pid = agent.proc.pid
    text = f"answer {WAIT}{seconds}"
    peak = [0.0]

    async def sample_rss() -> None:
        while True:
            peak[0] = max(peak[0], rss_mib(pid))
            await asyncio.sleep(0.2)

    async def run(requests: list[tuple[str, str]]) -> list[tuple[float, str]]:
        sampler = asyncio.create_task(sample_rss())
        try:
            return await burst(agent.url, requests)
        finally:
            sampler.cancel()

    rss0, cpu0, wall0 = rss_mib(pid), cpu_seconds(pid), time.perf_counter()
    results = asyncio.run(run([(text, f"adm-{i}") for i in range(n)]))
    cpu1, wall1 = cpu_seconds(pid), time.perf_counter()
    served = sum(1 for _, o in results if o == "completed")
    print(json.dumps({"phase": "distinct sessions", "concurrent": n, **summary(results),
                      "batch_wall_s": round(wall1 - wall0, 2),
                      "agent_cpu_s_per_completed_turn": round((cpu1 - cpu0) / max(1, served), 4),
                      "rss_mib_before": round(rss0, 1), "rss_mib_peak": round(peak[0], 1),
                      "loadavg_1m": os.getloadavg()[0]}), flush=True)

    # Two turns at once in each of n/2 sessions: at most one of each pair may run.
    pairs = [(text, f"pair-{i // 2}") for i in range(n)]
    results = asyncio.run(run(pairs))
    per_session: dict[str, list[str]] = collections.defaultdict(list)
    for (_, session), (_, outcome) in zip(pairs, results):
        per_session[session].append(outcome)
    two = [s for s, o in per_session.items() if o.count("completed") > 1]
    print(json.dumps({"phase": "two turns per session", "concurrent": n, **summary(results),
                      "sessions_that_ran_two_turns": len(two)}), flush=True)

    lines = log_lines(agent)
    print(json.dumps({
        "lease_renewal_failures": sum(1 for e in lines if e["msg"] == "could not renew the turn lease"),
        "leases_lost": sum(1 for e in lines if e["msg"] == "turn lease lost: stopping the turn"),
        "server_errors_logged": sum(1 for e in lines if e.get("level") in ("ERROR", "CRITICAL")),
        "http_5xx": sum(1 for e in lines if e["msg"] == "request" and e.get("status", 0) >= 500),
    }), flush=True)


STALLS = [
    b"",
    b"POST /process HTTP/1.1\r\nHost: x\r\nContent-Type: appl",
    b"POST /process HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer "
    + TOKEN.encode() + b"\r\nContent-Length: 100\r\n\r\n{\"input\": [",
]


def still_open(s: socket.socket) -> bool:
    s.settimeout(0)
    try:
        while s.recv(4096):
            pass
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def slowloris(url: str, port: int, pids: dict[str, int], n: int) -> None:
    async def one_turn(i: int) -> float:
        seconds, outcome = (await burst(url, [("hello", f"slow-{i}-{time.monotonic_ns()}")]))[0]
        assert outcome == "completed", outcome
        return seconds

    quiet = [asyncio.run(one_turn(i)) for i in range(5)]
    fds0 = {k: open_fds(p) for k, p in pids.items()}
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        if STALLS[i % 3]:
            s.sendall(STALLS[i % 3])
        socks.append(s)
    started = time.monotonic()
    beside = [asyncio.run(one_turn(100 + i)) for i in range(5)]
    print(json.dumps({"stalled": n, "turn_s_median_alone": round(statistics.median(quiet), 3),
                      "turn_s_median_beside_stalled": round(statistics.median(beside), 3),
                      "open_fds_before": fds0, "open_fds_with_stalled": {k: open_fds(p) for k, p in pids.items()}}),
          flush=True)
    for at in (5, 12, 20, 35, 45):
        time.sleep(max(0.0, started + at - time.monotonic()))
        print(json.dumps({"t_s": at, "stalled_still_open": sum(map(still_open, socks)),
                          "open_fds": {k: open_fds(p) for k, p in pids.items()}}), flush=True)
    for s in socks:
        s.close()


def main() -> None:
    mode, args = sys.argv[1], sys.argv[2:]
    workdir = Path(tempfile.mkdtemp(prefix="bench-agent-service-"))
    redis_port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(workdir)], stdout=subprocess.DEVNULL)
    gateway: subprocess.Popen | None = None
    try:
        with FakeModel() as fake:
            env = {**model_env(fake), "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
            if mode == "admission":
                env["MAX_CONCURRENT_TURNS"] = args[1]
            else:
                # Room for the stalled connections and the real turns beside them (the default cap,
                # 2 x MAX_CONCURRENT_TURNS + 64, would refuse the real turns with 503 until the
                # timeouts have closed the stalled ones).
                env["REQUEST_MAX_CONNECTIONS"] = str(int(args[0]) + 64)
            agent = Agent(env, workdir / "agent.log").start()
            try:
                assert agent.proc is not None
                asyncio.run(burst(agent.url, [("warm", "warm-1"), ("warm", "warm-2")]))  # first-turn imports
                if mode == "admission":
                    admission(agent, int(args[0]), float(args[2]))
                    return
                pids, url, port = {"agent": agent.proc.pid}, agent.url, agent.port
                if "--gateway" in args:
                    port = free_port()
                    gateway = subprocess.Popen(
                        [sys.executable, str(REPO / "components" / "assets" / "gateway.py")],
                        env={"PATH": os.environ["PATH"], "GATEWAY_UPSTREAM": agent.url, "GATEWAY_PORT": str(port)},
                        stdout=open(workdir / "gateway.log", "ab"), stderr=subprocess.STDOUT)
                    from conftest import wait_http
                    url = f"http://127.0.0.1:{port}"
                    wait_http(url + "/health", 30, gateway)
                    pids["gateway"] = gateway.pid
                slowloris(url, port, pids, int(args[0]))
            finally:
                agent.stop()
    finally:
        if gateway is not None:
            gateway.kill()
            gateway.wait()
        redis.terminate()
        redis.wait(10)


if __name__ == "__main__":
    main()
