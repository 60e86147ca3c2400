"""Benchmark: N concurrent streaming turns against one agent process (python -m
friday, not the image) with the scripted stand-in model and a real
redis-server on loopback. Each session runs one short turn; reports wall time
per turn (p50, p95), the agent's CPU seconds per turn, and any non-completed
ending. Usage: .venv/agent-tests/bin/python agent-image/bench_streams.py 20 100
"""
from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "test" / "python"))

from conftest import TOKEN, Agent, free_port, model_env  # noqa: E402
from fake_model import FakeModel  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def turn(client: httpx.AsyncClient, i: int, run: int) -> tuple[float, str]:
    body = {"input": [{"role": "user", "content": [{"type": "text", "text": f"hello {i}"}]}],
            "session_id": f"bench-{run}-{i}"}
    started = time.perf_counter()
    last: dict[str, Any] = {}
    async with client.stream("POST", "/process", json=body) as r:
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                last = json.loads(line[6:])
    return time.perf_counter() - started, str(last.get("status"))


async def measure(agent: Agent, n: int, run: int) -> dict[str, Any]:
    assert agent.proc is not None
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=agent.url, headers={"Authorization": f"Bearer {TOKEN}"},
                                 timeout=300, limits=limits) as client:
        cpu0, wall0 = cpu_seconds(agent.proc.pid), time.perf_counter()
        results = await asyncio.gather(*(turn(client, i, run) for i in range(n)))
        cpu1, wall1 = cpu_seconds(agent.proc.pid), time.perf_counter()
    times = sorted(t for t, _ in results)
    return {
        "concurrent": n,
        "p50_s": round(statistics.median(times), 3),
        "p95_s": round(times[max(0, int(0.95 * n) - 1)], 3),
        "batch_wall_s": round(wall1 - wall0, 3),
        "cpu_s_per_turn": round((cpu1 - cpu0) / n, 4),
        "not_completed": sum(1 for _, s in results if s != "completed"),
        "loadavg_1m": os.getloadavg()[0],
    }


def main() -> None:
    import subprocess
    import tempfile

    sizes = [int(a) for a in sys.argv[1:]] or [20, 100]
    workdir = Path(tempfile.mkdtemp(prefix="bench-streams-"))
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(workdir)], stdout=subprocess.DEVNULL)
    try:
        with FakeModel() as fake:
            agent = Agent({**model_env(fake), "REDIS_URL": f"redis://127.0.0.1:{port}/0"},
                          workdir / "agent.log").start()
            try:
                asyncio.run(measure(agent, 2, 0))  # warm-up: first-turn imports
                for run, n in enumerate(sizes, start=1):
                    print(json.dumps(asyncio.run(measure(agent, n, run))), flush=True)
            finally:
                agent.stop()
    finally:
        redis.terminate()
        redis.wait(10)


if __name__ == "__main__":
    main()
