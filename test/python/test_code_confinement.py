"""Code confined to its turn (issue 22, item 5): every process model-written code starts dies
with the turn or `/stop`, however it forks (`setsid`, double fork, killing its own reaper), and
the number of processes it may start is limited; the agent keeps serving meanwhile.

The real agent with ALLOW_LOCAL_CODE_EXECUTION=true and the fake model, whose RUN-CODE: marker
makes it run the given code. Each escapee is a `sleep` whose argument, a duration unique to the
test, marks its command line, so the checks find exactly this test's processes among the machine's.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Agent, ask, model_env, wait_http
from fake_model import FakeModel, RUN_CODE
from streams import BackgroundTurn, wait_until
from test_local_code import tool_output

# The pod's uid (components/workload/security-context.ts APP_UID): RLIMIT_NPROC binds non-root only.
APP_UID = 10001


def escapee(marker: str) -> str:
    """Code that double-forks with setsid; the grandchild, stdio on /dev/null (so the code's own
    output ends at once), execs `sleep` with `marker` (a duration unique to the test) as argument.
    The code prints the grandchild's pid once it is running."""
    return f"""
import os
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.write(w, str(os.getpid()).encode())
        os.close(w)
        os.execv("/bin/sleep", ["sleep", {marker!r}])
    os._exit(0)
os.close(w)
os.wait()
pid = int(os.read(r, 32))
os.kill(pid, 0)
print("escaped", pid)
"""


def with_marker(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture
def marker() -> Iterator[str]:
    m = f"300.{uuid.uuid4().int % 10**12:012d}"
    yield m
    for pid in with_marker(m):  # whatever a failing run left behind
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def local(start_agent: Any, **env: str) -> Agent:
    return start_agent(ALLOW_LOCAL_CODE_EXECUTION="true", **env)


def test_a_setsid_double_fork_dies_with_its_turn(start_agent: Any, marker: str) -> None:
    agent = local(start_agent)
    with agent.client() as c:
        out = tool_output(ask(c, RUN_CODE + escapee(marker), session_id="escape-1"))
    pid = int(re.search(r"escaped (\d+)", out).group(1))
    wait_until(lambda: not with_marker(marker) and not Path(f"/proc/{pid}").exists(), 10,
               "the setsid'd grandchild to die with its turn")


def test_a_setsid_double_fork_dies_on_stop(start_agent: Any, marker: str) -> None:
    agent = local(start_agent)
    code = escapee(marker) + f"import time\ntime.sleep(300)\n"
    turn = BackgroundTurn(agent, RUN_CODE + code, "escape-2")
    try:
        turn.wait_started()
        wait_until(lambda: with_marker(marker), 20, "the escapee to start")
        with agent.client() as c:
            assert c.post("/stop", json={"session_id": "escape-2"}).status_code == 200
        wait_until(lambda: not with_marker(marker), 10, "the escapee to die on /stop")
    finally:
        turn.join(30)
    assert turn.events[-1]["status"] == "canceled"


def test_code_that_kills_its_reaper_still_loses_its_processes(start_agent: Any, marker: str) -> None:
    agent = local(start_agent)
    code = escapee(marker) + "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
    with agent.client() as c:
        ask(c, RUN_CODE + code, session_id="escape-3")
    wait_until(lambda: not with_marker(marker), 10, "the orphan of a killed reaper to be swept")
    assert any(line["msg"] == "killed processes that escaped their code run" for line in agent.log_lines())


# The test venv's interpreter lives under /root, which uid 10001 cannot reach: Debian's own 3.11
# runs the agent, without its site directory (-S; its dist-packages would shadow the venv's).
SYSTEM_PYTHON = "/usr/bin/python3.11"
RUN_AGENT = ("import runpy, site; site.addsitedir({site!r}); "
             "runpy.run_module('friday', run_name='__main__', alter_sys=True)")


class UnprivilegedAgent(Agent):
    """The agent as the pod runs it, non-root: root's uid is exempt from RLIMIT_NPROC."""

    def start(self) -> UnprivilegedAgent:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, "-S", "-c", RUN_AGENT.format(site=sysconfig.get_paths()["purelib"])],
            env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            user=APP_UID, group=APP_UID, extra_groups=[], cwd="/",
        )
        try:
            wait_http(self.url + "/health", 60, self.proc)
        except BaseException:
            self.proc.kill()
            self.proc.wait()
            raise
        return self


BOMB_TRIES = 300


@pytest.fixture
def unprivileged_agent(fake_model: FakeModel, tmp_path: Path) -> Iterator[Agent]:
    home = tempfile.mkdtemp(prefix="agent-home-")
    os.chmod(home, 0o777)
    agent = UnprivilegedAgent(
        {**model_env(fake_model), "ALLOW_LOCAL_CODE_EXECUTION": "true", "HOME": home,
         "LOCAL_CODE_MAX_PROCESSES": "32", "LOCAL_CODE_TIMEOUT_SECONDS": "20"},
        tmp_path / "agent.log",
    )
    try:
        yield agent.start()
    finally:
        agent.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_a_fork_bomb_is_contained_and_the_agent_keeps_serving(unprivileged_agent: Agent) -> None:
    # Bounded for the machine's sake: at most BOMB_TRIES children, each a small `sleep` whose
    # argument (a duration unique to this test) is the marker.
    marker = f"60.{uuid.uuid4().int % 10**12:012d}"
    bomb = f"""
import os, time
made = 0
for _ in range({BOMB_TRIES}):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.execv("/bin/sleep", ["sleep", {marker!r}])
    made += 1
print("forked", made)
time.sleep(6)
"""
    agent = unprivileged_agent
    turn = BackgroundTurn(agent, RUN_CODE + bomb, "bomb-1")
    try:
        turn.wait_started()
        wait_until(lambda: with_marker(marker), 20, "the bomb to start")
        # The agent serves another turn while the bomb's processes are alive.
        with agent.client() as c:
            assert "echo: " in str(ask(c, "still there?", session_id="bomb-2"))
    finally:
        turn.join(60)
    out = tool_output(turn.events)
    made = int(re.search(r"forked (\d+)", out).group(1))
    assert made <= 32, out  # the run's budget (threads and processes of the code)
    try:
        wait_until(lambda: not with_marker(marker), 10, "the bomb's processes to die with the turn")
    finally:
        for pid in with_marker(marker):
            os.kill(pid, signal.SIGKILL)
