"""Benchmark: tracing overhead of one agent process (python -m friday) with the scripted model
and the sandbox manager double on loopback. N sequential seed turns (model -> tool -> model) with
tracing off, then with OTLP export to a receiver in this process; reports the median and p95
wall time per turn and the agent's CPU seconds per turn.
Usage: .venv/agent-tests/bin/python agent-image/bench_tracing.py 20
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "test" / "python"))

from bench_streams import cpu_seconds  # noqa: E402
from conftest import Agent, ask, model_env  # noqa: E402
from fake_model import FakeModel  # noqa: E402
from otlp_receiver import OtlpReceiver  # noqa: E402
from test_app import FakeSandboxManager  # noqa: E402


def run(turns: int, env: dict[str, str], log: Path) -> tuple[list[float], float]:
    agent = Agent(env, log).start()
    try:
        assert agent.proc is not None
        with agent.client() as c:
            ask(c, "bubble sort please", session_id="warm-up")
            cpu0, times = cpu_seconds(agent.proc.pid), []
            for i in range(turns):
                started = time.perf_counter()
                events = ask(c, "bubble sort please", session_id=f"bench-{i}")
                times.append(time.perf_counter() - started)
                assert events[-1]["status"] == "completed", events[-1]
            return times, (cpu_seconds(agent.proc.pid) - cpu0) / turns
    finally:
        agent.stop()


def main() -> None:
    turns = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    receiver, manager = OtlpReceiver(), FakeSandboxManager("sandbox-token")
    with FakeModel() as model, tempfile.TemporaryDirectory() as tmp:
        base = {**model_env(model), "SANDBOX_MANAGER_URL": manager.url, "SANDBOX_MANAGER_TOKEN": "sandbox-token"}
        traced = {**base, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_SERVICE_NAME": "agentscope-agent"}
        for label, env in (("tracing off", base), ("tracing on", traced)):
            times, cpu = run(turns, env, Path(tmp) / f"{label}.log")
            p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
            print(f"{label}: {turns} turns, median {statistics.median(times) * 1000:.0f} ms, "
                  f"p95 {p95 * 1000:.0f} ms, agent CPU {cpu * 1000:.0f} ms/turn", flush=True)
        print(f"spans received: {len(receiver.spans)}")
    manager.server.shutdown()
    receiver.close()


if __name__ == "__main__":
    main()
