"""Runs model-written code in a child process (local mode only).

Started by `local_code.py` as `python -I code_child.py CPU_S MEM_BYTES READ_ONLY_DIRS...`
with an empty environment in a scratch directory, the code on stdin. Before
the code runs it sets hard resource limits the code cannot raise, and where
the kernel offers Landlock, confines file access to the scratch directory
(read-write), the Python installation (read-only) and /dev.
Uses only the standard library: it must not import the agent.
"""
from __future__ import annotations

import ctypes
import os
import resource
import sys

# Landlock UAPI (linux/landlock.h); the syscall numbers are the same on
# x86_64 and arm64 (asm-generic/unistd.h).
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
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


def main() -> None:
    cpu_s, mem_bytes = int(sys.argv[1]), int(sys.argv[2])
    read_only = sys.argv[3:]
    code = sys.stdin.read()
    os.close(0)
    os.open(os.devnull, os.O_RDONLY)  # the code reads EOF, not the agent's pipe
    # CPU: SIGXCPU at the soft limit, SIGKILL one second later at the hard one.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    for limit, value in (
        (resource.RLIMIT_AS, mem_bytes),
        (resource.RLIMIT_FSIZE, 64 * 1024 * 1024),
        (resource.RLIMIT_NOFILE, 256),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(limit, (value, value))
    _landlock(read_only, [os.getcwd(), "/dev"])
    sys.argv[:] = ["<code>"]
    exec(compile(code, "<code>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})


if __name__ == "__main__":
    main()
