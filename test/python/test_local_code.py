"""Local code execution (ALLOW_LOCAL_CODE_EXECUTION=true): the code cannot
see the agent's secrets or files, is held to CPU, memory and time limits,
and dies when its turn is stopped (issue 11, items 3 and 4)."""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from conftest import AGENT_DIR, Agent, ask
from fake_model import RUN_CODE
from streams import BackgroundTurn, wait_until
from test_app import tool_events

PROBE = f"""\
import os, resource
print("ENV", sorted(os.environ))
print("CWD", os.getcwd())
for path in ("/proc/%d/environ" % os.getppid(), {str(AGENT_DIR / "friday" / "settings.py")!r}):
    try:
        print("READ", path, len(open(path, "rb").read()))
    except OSError as exc:
        print("DENIED", path, type(exc).__name__)
print("AS", resource.getrlimit(resource.RLIMIT_AS))
"""


def tool_output(events: list[dict[str, Any]]) -> str:
    return tool_events(events, "plugin_call_output")[0]["content"][0]["data"]["output"]


def local(start_agent: Any, **env: str) -> Agent:
    return start_agent(ALLOW_LOCAL_CODE_EXECUTION="true", **env)


def test_code_sees_no_secrets_and_none_of_the_agents_files(start_agent: Any) -> None:
    agent = local(start_agent, REDIS_PASSWORD="redis-secret-value", LOCAL_CODE_MEMORY_MB="256")
    with agent.client() as c:
        out = tool_output(ask(c, RUN_CODE + PROBE, session_id="probe-1"))
    for secret in ("test-token", "fake-key", "redis-secret-value"):
        assert secret not in out
    env_names = ast.literal_eval(re.search(r"ENV (\[.*?\])", out).group(1))
    assert not {"AGENT_API_TOKEN", "MODEL_API_KEY", "REDIS_PASSWORD", "REDIS_URL"} & set(env_names)
    assert "READ " not in out, out  # neither the agent's environ nor its code
    assert out.count("DENIED") == 2
    cwd = re.search(r"CWD (\S+)", out).group(1)
    assert Path(cwd).name.startswith("code-") and not Path(cwd).exists()  # scratch, removed after
    assert f"AS ({256 * 1024 * 1024}, {256 * 1024 * 1024})" in out
    lines = agent.log_lines()
    loud = [e for e in lines if e["msg"].startswith("LOCAL CODE EXECUTION IS ON")]
    assert loud and loud[0]["level"] == "WARNING" and loud[0]["files_confined"] is True


def test_memory_cpu_and_wall_time_are_limited(start_agent: Any) -> None:
    agent = local(start_agent, LOCAL_CODE_MEMORY_MB="128", LOCAL_CODE_CPU_SECONDS="1",
                  LOCAL_CODE_TIMEOUT_SECONDS="10")  # 1 CPU-s can take seconds on a busy node
    with agent.client() as c:
        mem = tool_output(ask(c, RUN_CODE + "x = bytearray(512 * 1024 * 1024)\nprint('allocated')", "lim-1"))
        cpu = tool_output(ask(c, RUN_CODE + "while True:\n    pass", "lim-2"))
        wall = tool_output(ask(c, RUN_CODE + "import time\ntime.sleep(30)\nprint('woke')", "lim-3"))
    assert "MemoryError" in mem and "allocated" not in mem
    # Killed by the CPU limit (SIGXCPU, or SIGKILL at the hard limit), not by the wall-time one.
    assert re.search(r"<returncode>-(24|9)</returncode>", cpu) and "TimeoutError" not in cpu, cpu
    assert "TimeoutError" in wall and "woke" not in wall


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def test_stop_ends_running_code(start_agent: Any) -> None:
    agent = local(start_agent)
    assert agent.proc is not None
    turn = BackgroundTurn(agent, RUN_CODE + "while True:\n    pass", "loop-1")
    turn.wait_started()
    wait_until(lambda: children_of(agent.proc.pid), 10, "the code to start")
    kids = children_of(agent.proc.pid)
    with agent.client() as c:
        assert c.post("/stop", json={"session_id": "loop-1"}).status_code == 200
    wait_until(lambda: not any(Path(f"/proc/{k}").exists() for k in kids), 5, "the code to die")
    turn.join(15)
    assert turn.events[-1]["status"] == "canceled"
