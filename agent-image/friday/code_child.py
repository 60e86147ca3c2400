"""Runs model-written code in a child process (local mode only).

Started by `local_code.py` as `python -I code_child.py CPU_S MEM_BYTES NPROC READ_ONLY_DIRS...`
with an empty environment in a scratch directory, the code on stdin. This process is the run's
reaper: it becomes a child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER), so every process the
code starts stays its descendant however it forks (`setsid`, double fork), and runs the code in
a forked child. When that child ends, or on SIGTERM (the turn stopped, ended or timed out), it
kills every descendant and exits with the code's status. Before the code runs, the child sets
hard resource limits the code cannot raise (processes included: RLIMIT_NPROC, see
docs/code-confinement.md) and, where the kernel offers Landlock, confines file access to the
scratch directory (read-write), the Python installation (read-only) and /dev.
Uses only the standard library: it must not import the agent.
"""
from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import time

# Landlock UAPI (linux/landlock.h); the syscall numbers are the same on
# x86_64 and arm64 (asm-generic/unistd.h).
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_CHILD_SUBREAPER = 36
# Kill rounds at the end of a run: each kills every child, whose children then become ours.
_KILL_ROUNDS = 200
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_ALL_ABI1 = (1 << 13) - 1  # every filesystem right of Landlock ABI 1
_READ_ONLY = _EXECUTE | _READ_FILE | _READ_DIR


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _landlock(read_only: list[str], read_write: list[str]) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    if syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)) < 1:
        return False  # no Landlock in this kernel, or blocked by seccomp
    attr = _RulesetAttr(_ALL_ABI1)
    ruleset = syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                      ctypes.c_uint32(0))
    if ruleset < 0:
        return False
    for paths, access in ((read_only, _READ_ONLY), (read_write, _ALL_ABI1)):
        for path in paths:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            rule = _PathBeneathAttr(access, fd)
            syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                    ctypes.byref(rule), ctypes.c_uint32(0))
            os.close(fd)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    ok = syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) == 0
    os.close(ruleset)
    return ok


def children(parent: int) -> list[int]:
    """Processes whose parent is `parent` (/proc/<pid>/stat field 4; comm may hold spaces)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat[stat.rindex(b")") + 2:].split()[1]) == parent:
                found.append(int(entry))
    return found


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_descendants() -> None:
    """SIGKILLs every descendant: as a subreaper, the orphans of each killed one become ours."""
    me = os.getpid()
    for _ in range(_KILL_ROUNDS):
        _reap()
        alive = children(me)
        if not alive:
            return
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.005)


def uid_tasks() -> int:
    """Processes and threads of this real uid that this PID namespace shows (RLIMIT_NPROC's count)."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                if int(fields["Uid"].split()[0]) == uid:
                    count += int(fields["Threads"])
            except (OSError, KeyError, ValueError):
                continue
    return count


class _Stopped(Exception):
    pass


def _stop(signum: int, frame: object) -> None:
    raise _Stopped


def run_code(code: str, cpu_s: int, mem_bytes: int, nproc: int, read_only: list[str]) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # CPU: SIGXCPU at the soft limit, SIGKILL one second later at the hard one.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    for limit, value in (
        (resource.RLIMIT_AS, mem_bytes),
        (resource.RLIMIT_FSIZE, 64 * 1024 * 1024),
        (resource.RLIMIT_NOFILE, 256),
        (resource.RLIMIT_CORE, 0),
        # Per uid, not per process: what the uid runs now plus this run's budget (see the docs).
        (resource.RLIMIT_NPROC, uid_tasks() + nproc),
    ):
        resource.setrlimit(limit, (value, value))
    _landlock(read_only, [os.getcwd(), "/dev"])
    sys.argv[:] = ["<code>"]
    exec(compile(code, "<code>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})


def main() -> None:
    cpu_s, mem_bytes, nproc = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    read_only = sys.argv[4:]
    # Descriptors the spawner let through (uvloop's stdio socketpairs, for one): a process of the
    # code holding one would keep the agent's read of the output open after the run.
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    code = sys.stdin.read()
    os.close(0)
    os.open(os.devnull, os.O_RDONLY)  # the code reads EOF, not the agent's pipe
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("code_child: cannot become a child subreaper")
    signal.signal(signal.SIGTERM, _stop)
    status = None
    try:
        pid = os.fork()
        if pid == 0:
            run_code(code, cpu_s, mem_bytes, nproc, read_only)
            return  # the interpreter exits as after any script: flushed, threads joined
        _, status = os.waitpid(pid, 0)
    except _Stopped:
        pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second stop must not cut the sweep
    kill_descendants()
    if status is None:
        os._exit(128 + signal.SIGTERM)
    if os.WIFSIGNALED(status):
        # The same death as the code's (a CPU limit's SIGXCPU or SIGKILL), for the agent's report.
        if os.WTERMSIG(status) not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    sys.stdout.flush()
    os._exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
