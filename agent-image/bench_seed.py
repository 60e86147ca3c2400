"""Benchmark: the seed's sample (examples/seed-agent) built as the stack builds
it (user-agent.Dockerfile on the kit) against the image agentscope-runtime
1.0.1's own Kubernetes deployer builds for it (bench_seed_deployer.py), on the
same base and with the same 128 packages of the sample's lock.

Reports, per image: build seconds from an empty layer cache and an empty pip
cache (median of --runs, the two images alternating), seconds and bytes a
one-line change to app.py rebuilds, the final size, and whether a compiler is
left in it. Run through agent-image/bench-seed.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "test" / "python"))

from images import BASE_IMAGE, build, image_size, podman, rebuilt_bytes  # noqa: E402

SEED_DIR = REPO / "examples" / "seed-agent"
KIT = "localhost/user-agent-kit:bench"
OURS = "localhost/seed-agent:bench"
THEIRS = "localhost/seed-agent-deployer:bench"


def lock_pins() -> str:
    """The sample's lock as `name==version` lines: the deployer's template installs its
    requirements unhashed. Pinned, because the deployer pins nothing the sample needs."""
    pins = re.findall(r"^([A-Za-z0-9_.\-]+(?:\[[^\]]*\])?==\S+)", (SEED_DIR / "requirements.txt").read_text(), re.M)
    return "\n".join(pins) + "\n"


def deployer_context(root: Path, seed_python: Path) -> Path:
    project = root / "project"
    project.mkdir()
    shutil.copy(SEED_DIR / "app.py", project / "app.py")
    requirements = root / "deploy-requirements.txt"
    requirements.write_text(lock_pins())
    out = subprocess.run(
        [str(seed_python), str(HERE / "bench_seed_deployer.py"), "--project", str(project),
         "--requirements", str(requirements), "--base-image", BASE_IMAGE, "--out", str(root / "deployer")],
        capture_output=True, text=True, check=True)
    return Path(out.stdout.strip().splitlines()[-1])


def changed_copy(context: Path) -> Path:
    """A copy of the build context beside it, with one line added to app.py: a new line each
    time, so no build of an earlier run (whose layers podman keeps) can serve it from cache."""
    changed = context.with_name(context.name + "-changed")
    shutil.rmtree(changed, ignore_errors=True)
    shutil.copytree(context, changed)
    app = changed / "app.py"
    app.write_text(app.read_text() + f"# a one-line change {uuid.uuid4()}\n")
    return changed


def cold(build_once: Callable[[], float]) -> float:
    """One build with no layer cache and an empty pip cache mount (buildah keeps cache
    mounts under $TMPDIR, so a fresh one starts them empty)."""
    before = os.environ.get("TMPDIR")
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        os.environ["TMPDIR"] = tmp
        try:
            return build_once()
        finally:
            if before is None:
                del os.environ["TMPDIR"]
            else:
                os.environ["TMPDIR"] = before


def has(tag: str, command: str) -> bool:
    found = podman("run", "--rm", "--network", "none", "--entrypoint", "sh", tag, "-c",
                   f"command -v {command} || true")
    return bool(found.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="cold builds and one-line rebuilds per image")
    parser.add_argument("--seed-python", type=Path, required=True,
                        help="a Python with the sample's lock installed (agentscope-runtime 1.0.1)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        root = Path(tmp)
        ours_ctx = root / "seed-agent"
        shutil.copytree(SEED_DIR, ours_ctx, ignore=shutil.ignore_patterns("__pycache__"))
        theirs_ctx = deployer_context(root, args.seed_python)
        user_agent = {"dockerfile": HERE / "user-agent.Dockerfile",
                      "build_args": {"AGENT_APP": "app:agent_app", "KIT_IMAGE": KIT}}
        builds: dict[str, Callable[[bool], float]] = {
            # ours: the kit too (the stack builds it once for all agents), so a cold build is whole
            "ours": lambda no_cache: (build(HERE, KIT, target="user-agent-kit", no_cache=no_cache)
                                      + build(ours_ctx, OURS, no_cache=no_cache, **user_agent)),
            "deployer": lambda no_cache: build(theirs_ctx, THEIRS, no_cache=no_cache),
        }
        changed = {"ours": lambda: build(changed_copy(ours_ctx), OURS + "-changed", **user_agent),
                   "deployer": lambda: build(changed_copy(theirs_ctx), THEIRS + "-changed")}

        result: dict[str, dict[str, object]] = {"ours": {}, "deployer": {}}
        cold_s: dict[str, list[float]] = {"ours": [], "deployer": []}
        change_s: dict[str, list[float]] = {"ours": [], "deployer": []}
        for _ in range(args.runs):
            for name in ("ours", "deployer"):
                cold_s[name].append(round(cold(lambda: builds[name](True)), 1))
                print(name, "cold", cold_s[name][-1], file=sys.stderr, flush=True)
        for _ in range(args.runs):
            for name in ("ours", "deployer"):
                builds[name](False)  # back to the unchanged image's layers
                change_s[name].append(round(changed[name](), 1))
                print(name, "one-line change", change_s[name][-1], file=sys.stderr, flush=True)
        for name, tag in (("ours", OURS), ("deployer", THEIRS)):
            result[name] = {
                "cold_build_seconds": cold_s[name],
                "cold_build_seconds_median": statistics.median(cold_s[name]),
                "one_line_change_rebuild_seconds": change_s[name],
                "one_line_change_rebuild_seconds_median": statistics.median(change_s[name]),
                "one_line_change_rebuilt_bytes": rebuilt_bytes(tag, tag + "-changed"),
                "image_bytes": image_size(tag),
                "has_gcc": has(tag, "gcc"),
            }
            podman("rmi", tag + "-changed", check=False)
    result["machine"] = {"cpus": os.cpu_count(), "load_avg_1m_after": round(os.getloadavg()[0], 2),
                         "base_image": BASE_IMAGE, "base_image_bytes": image_size(BASE_IMAGE)}
    print(json.dumps(result, indent=2))
    ours, theirs = result["ours"], result["deployer"]
    rows = [("final image size", f"{ours['image_bytes'] / 1e6:.0f} MB", f"{theirs['image_bytes'] / 1e6:.0f} MB"),
            (f"cold build, median of {args.runs}", f"{ours['cold_build_seconds_median']} s",
             f"{theirs['cold_build_seconds_median']} s"),
            (f"one-line change to app.py, rebuild median of {args.runs}",
             f"{ours['one_line_change_rebuild_seconds_median']} s",
             f"{theirs['one_line_change_rebuild_seconds_median']} s"),
            ("bytes that change rebuilds", f"{ours['one_line_change_rebuilt_bytes'] / 1e3:.0f} kB",
             f"{theirs['one_line_change_rebuilt_bytes'] / 1e6:.0f} MB"),
            ("a compiler (gcc) in the image", str(ours["has_gcc"]), str(theirs["has_gcc"]))]
    print("\n| | ours | deployer (1.0.1) |\n| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
