"""Python execution inside the agent's pod (ALLOW_LOCAL_CODE_EXECUTION=true).

Replaces agentscope's `execute_python_code`, which passes the agent's whole
environment (tokens, keys, Redis password) to the code and leaves the process
running when the turn is stopped. Here each run gets an empty environment, a
fresh scratch directory, CPU, memory and wall-time limits, its own process
group (killed on stop or timeout), and Landlock confinement where available.
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


@dataclass(frozen=True)
class Limits:
    timeout_s: int
    cpu_s: int
    memory_mb: int


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


async def run_python(code: str, limits: Limits) -> tuple[int, str, str]:
    scratch = tempfile.mkdtemp(prefix="code-")
    env = {"PATH": "/usr/bin:/bin", "HOME": scratch, "TMPDIR": scratch, "LANG": "C.UTF-8",
           "PYTHONUTF8": "1", "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", _CHILD, str(limits.cpu_s), str(limits.memory_mb * 1024 * 1024),
        *_read_only_dirs(),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env, cwd=scratch, start_new_session=True,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(code.encode()), timeout=limits.timeout_s)
        return proc.returncode or 0, _clip(out), _clip(err)
    except asyncio.TimeoutError:
        _kill_group(proc)
        out, err = await proc.communicate()
        return -1, _clip(out), _clip(err) + f"\nTimeoutError: the code ran for more than {limits.timeout_s} s"
    finally:
        # Stop, client gone, timeout: whatever the code started dies with it.
        _kill_group(proc)
        shutil.rmtree(scratch, ignore_errors=True)


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
