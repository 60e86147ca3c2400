"""podman helpers shared by test_image.py and agent-image/bench."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
# BASE_IMAGE as in scripts/make-base-image.sh (another name measures a build from an empty layer cache).
BASE_IMAGE = os.environ.get("BASE_IMAGE") or "localhost/bookworm-python:3.11"
# This machine reaches PyPI through a TLS-inspecting proxy: pip in the build
# needs the host's trust store (a build secret, kept out of every layer).
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def podman(*args: str, check: bool = True, timeout: float = 1800) -> str:
    if shutil.which("podman") is None:
        raise RuntimeError("podman is not installed: run scripts/setup-podman.sh")
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def build(context: Path, tag: str, target: str | None = None, dockerfile: Path | None = None,
          build_args: dict[str, str] | None = None, no_cache: bool = False) -> float:
    """Builds an image and returns the seconds it took (no_cache: every step again)."""
    args = ["build", "--secret", f"id=pip-ca,src={CA_BUNDLE}", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
            "-t", tag]
    if no_cache:
        args.append("--no-cache")
    for name, value in (build_args or {}).items():
        args += ["--build-arg", f"{name}={value}"]
    if target:
        args += ["--target", target]
    if dockerfile:
        args += ["-f", str(dockerfile)]
    started = time.monotonic()
    podman(*args, str(context))
    return time.monotonic() - started


def image_size(tag: str) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", tag).strip())


def history(tag: str) -> list[tuple[str, int]]:
    """(instruction, bytes) per build step, from the bottom up."""
    entries = json.loads(podman("history", "--no-trunc", "--format", "json", tag))
    return [(h.get("CreatedBy") or h.get("created_by") or "", int(h.get("size") or 0)) for h in reversed(entries)]


def rebuilt_bytes(old: str, new: str) -> int:
    """Bytes of the steps of `new` after the first one that differs from `old`:
    what a rebuild had to redo and a pull has to fetch again. COPY steps carry
    the digest of what they copy, so a code change shows where it starts."""
    old_steps, new_steps = history(old), history(new)
    same = 0
    while same < min(len(old_steps), len(new_steps)) and old_steps[same] == new_steps[same]:
        same += 1
    return sum(size for _, size in new_steps[same:])


def seconds_to_healthy(run_args: list[str], url: str, timeout: float = 120) -> tuple[float, str]:
    """From `podman run -d` to the first 200 from url; returns (seconds, container id)."""
    started = time.monotonic()
    cid = podman("run", "-d", *run_args).strip()
    deadline = started + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return time.monotonic() - started, cid
        except httpx.HTTPError:
            pass
        state = podman("inspect", "--format", "{{.State.Status}}", cid, check=False).strip()
        if state in ("exited", "stopped"):
            raise RuntimeError(f"container exited:\n{_logs_and_remove(cid)}")
        time.sleep(0.02)
    raise TimeoutError(f"{url} not healthy after {timeout}s:\n{_logs_and_remove(cid)}")


def _logs_and_remove(cid: str) -> str:
    result = subprocess.run(["podman", "logs", cid], capture_output=True, text=True)
    podman("rm", "-f", cid, check=False)
    return (result.stdout + result.stderr)[-4000:]
