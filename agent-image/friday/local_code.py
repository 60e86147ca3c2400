"""Python execution inside the agent's pod (ALLOW_LOCAL_CODE_EXECUTION=true).

Replaces agentscope's `execute_python_code`, which passes the agent's whole
environment (tokens, keys, Redis password) to the code and leaves the process
running when the turn is stopped. Here each run gets an empty environment, a
fresh scratch directory, CPU, memory, process-count and wall-time limits, and
Landlock confinement where available. Its child (code_child.py) is a child
subreaper that kills everything the code started, `setsid` or not, when the
code ends or the run is stopped; the agent itself is a subreaper too, so what
escapes a killed reaper is swept here (docs/code-confinement.md).
"""
from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import shutil
import signal
import sys
import sysconfig
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from agentscope.message import TextBlock
from agentscope.tool import ToolResponse

log = logging.getLogger(__name__)

_CHILD = str(Path(__file__).with_name("code_child.py"))
_MAX_OUTPUT = 64 * 1024
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36
# How long a reaper gets to kill its run's processes after SIGTERM before its group is SIGKILLed.
_REAPER_GRACE_S = 3.0
_SWEEP_ROUNDS = 200
# The reapers of the runs in progress: the agent's only legitimate children in local mode.
_reapers: set[int] = set()
# Runs between fork and registration: their reaper is a child not yet in _reapers.
_spawning = 0


@dataclass(frozen=True)
class Limits:
    timeout_s: int
    cpu_s: int
    memory_mb: int
    max_processes: int = 64


def _read_only_dirs() -> list[str]:
    """The Python installation the code may import from, not the agent's code."""
    dirs = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    dirs |= {sys.base_prefix, "/usr/lib", "/lib", "/lib64", "/usr/lib64", "/usr/bin", "/bin"}
    # The interpreter of a venv is a symlink into base_prefix; both must resolve.
    dirs.add(str(Path(sys.executable).parent))
    here = Path(__file__).resolve().parent
    return sorted(d for d in dirs if d and os.path.isdir(d) and not here.is_relative_to(Path(d).resolve()))


def protect_agent_process() -> None:
    """Makes /proc/<agent>/environ and /mem unreadable to processes of the
    same uid (proc(5), PR_SET_DUMPABLE): the code's only route to the agent's
    secrets when Landlock is not available."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        log.warning("could not make the agent process non-dumpable")
    # Processes orphaned by a killed reaper become the agent's, so that sweep_orphans finds them.
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        log.warning("could not make the agent process a child subreaper")


async def run_python(code: str, limits: Limits) -> tuple[int, str, str]:
    scratch = tempfile.mkdtemp(prefix="code-")
    env = {"PATH": "/usr/bin:/bin", "HOME": scratch, "TMPDIR": scratch, "LANG": "C.UTF-8",
           "PYTHONUTF8": "1", "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"}
    global _spawning
    _spawning += 1
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", _CHILD, str(limits.cpu_s), str(limits.memory_mb * 1024 * 1024),
            str(limits.max_processes), *_read_only_dirs(),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=env, cwd=scratch, start_new_session=True,
        )
        _reapers.add(proc.pid)
    finally:
        _spawning -= 1
    try:
        out, err = await asyncio.wait_for(proc.communicate(code.encode()), timeout=limits.timeout_s)
        return proc.returncode or 0, _clip(out), _clip(err)
    except asyncio.TimeoutError:
        await _end_run(proc)
        out, err = await proc.communicate()
        return -1, _clip(out), _clip(err) + f"\nTimeoutError: the code ran for more than {limits.timeout_s} s"
    finally:
        # Stop, client gone, timeout: whatever the code started dies with it. Shielded: a
        # second cancellation must not cut the end short.
        try:
            await asyncio.shield(_end_run(proc))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


async def _end_run(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM to the reaper, which kills every process of the run; its group is SIGKILLed if
    it has not exited in time; then orphans of a reaper the code killed are swept."""
    if proc.returncode is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(proc.wait(), timeout=_REAPER_GRACE_S)
        except asyncio.TimeoutError:
            log.warning("a code run's reaper did not exit in time; killing its process group")
            _kill_group(proc)
            await proc.wait()
    _reapers.discard(proc.pid)
    killed = sweep_orphans()
    if killed:
        log.warning("killed processes that escaped their code run", extra={"killed": killed})


def _children_of(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            if int(stat[stat.rindex(b")") + 2:].split()[1]) == parent:
                found.append(int(entry))
    return found


def sweep_orphans() -> int:
    """Kills the agent's children that are not the reaper of a run in progress: in local mode
    those can only be code processes orphaned by a reaper that was killed (the agent is their
    subreaper). Reaps them by pid, never waitpid(-1), which would take asyncio's children."""
    me, killed = os.getpid(), 0
    if _spawning:
        return 0  # a new reaper may not be registered yet; the next run's end sweeps
    for _ in range(_SWEEP_ROUNDS):
        strays = [pid for pid in _children_of(me) if pid not in _reapers]
        if not strays:
            break
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        for pid in strays:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
    return killed


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _clip(data: bytes) -> str:
    text = data[:_MAX_OUTPUT].decode("utf-8", errors="replace")
    return text + ("\n[output truncated]" if len(data) > _MAX_OUTPUT else "")


def local_python_tool(limits: Limits) -> Callable[[str], Awaitable[ToolResponse]]:
    async def execute_python_code(code: str) -> ToolResponse:
        """Execute Python code and return its output. Print what you want to
        see: only standard output and errors come back. The code runs in an
        empty scratch directory with limited CPU time, memory and wall time.

        Args:
            code (`str`):
                The Python code to execute.
        """
        returncode, out, err = await run_python(code, limits)
        text = f"<returncode>{returncode}</returncode><stdout>{out}</stdout><stderr>{err}</stderr>"
        return ToolResponse(content=[TextBlock(type="text", text=text)])

    return execute_python_code


async def confinement_probe(limits: Limits) -> dict[str, bool]:
    """What the code can reach here, for the start-up log."""
    code = ("import os\n"
            f"for name, path in (('agent_code', {_CHILD!r}), ('proc', '/proc/self/status')):\n"
            "    try:\n        open(path).close(); print(name, 'open')\n"
            "    except OSError:\n        print(name, 'denied')\n")
    _, out, _ = await run_python(code, limits)
    return {"files_confined": "agent_code denied" in out and "proc denied" in out}
