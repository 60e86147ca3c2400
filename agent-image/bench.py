"""Benchmark: our agent image against the one agentscope-runtime's deployer
generates for the same app (its default Dockerfile template), on the same base.

Reports final image size, the bytes a code-only change rebuilds, and seconds
from `podman run` to a healthy /health (median of --runs starts). Run through
./bench, which prepares podman, the base image and the virtualenv.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "test" / "python"))

from agentscope_runtime.engine.deployers.utils.docker_image_utils.dockerfile_generator import (  # noqa: E402
    DockerfileConfig,
    DockerfileGenerator,
)
from fake_model import FakeModel  # noqa: E402
from images import BASE_IMAGE, build, image_size, podman, rebuilt_bytes, seconds_to_healthy  # noqa: E402

OURS = "localhost/friday-agent:bench"
THEIRS = "localhost/friday-agent-deployer:bench"

# What the deployer writes to requirements.txt for a released runtime
# (detached_app.append_project_requirements) plus the seed's own list, with
# the versions that make this app work (see requirements.in), unhashed as the
# template installs them.
DEPLOYER_REQUIREMENTS = """\
agentscope-runtime==1.1.6.post2
agentscope==1.0.21
celery
fastapi
jinja2
psutil
pydantic
redis
uvicorn
mcp==1.30.0
openai==2.54.0
tqdm==4.70.1
greenlet==3.5.6
"""


def deployer_dockerfile() -> str:
    """The runtime's default template, with the three edits this machine needs
    (each checked, so a template change is noticed)."""
    text = DockerfileGenerator().generate_dockerfile_content(DockerfileConfig(
        base_image=BASE_IMAGE, port=8080, platform="linux/amd64",
        startup_command='["python3", "-m", "friday"]',
    ))
    edits = [
        # 1. Its apt sources are Alibaba Cloud's mirror, unreachable here.
        ("https://mirrors.aliyun.com/debian/", "http://deb.debian.org/debian/"),
        ("https://mirrors.aliyun.com/debian-security/", "http://deb.debian.org/debian-security/"),
        # 2. buildah 1.28 has no heredocs; this one only writes an empty file.
        ("cat > /etc/apt/sources.list.d/debian.sources <<'EOF'\nEOF\n",
         ": > /etc/apt/sources.list.d/debian.sources\n"),
        # 3. pip behind this machine's TLS-inspecting proxy needs its CA.
        ("RUN pip install", "RUN --mount=type=secret,id=pip-ca PIP_CERT=/run/secrets/pip-ca pip install"),
        ("        pip install", "        PIP_CERT=/run/secrets/pip-ca pip install"),
    ]
    for old, new in edits:
        assert old in text, f"template changed: {old!r} not found"
        text = text.replace(old, new)
    text = text.replace("RUN if [ -f requirements.txt ]",
                        "RUN --mount=type=secret,id=pip-ca if [ -f requirements.txt ]")
    return text


def deployer_context(root: Path) -> Path:
    ctx = root / "deployer"
    shutil.copytree(HERE / "friday", ctx / "friday", ignore=shutil.ignore_patterns("__pycache__"))
    (ctx / "requirements.txt").write_text(DEPLOYER_REQUIREMENTS)
    (ctx / "Dockerfile").write_text(deployer_dockerfile())
    return ctx


def code_change(ctx: Path) -> Path:
    changed = ctx.with_name(ctx.name + "-changed")
    shutil.copytree(ctx, changed, ignore=shutil.ignore_patterns("__pycache__", "bench*"))
    init = changed / "friday" / "__init__.py"
    init.write_text(init.read_text() + "# a code-only change\n")
    return changed


def startups(image: str, runs: int, fake: FakeModel) -> list[tuple[float, float]]:
    """Same flags for both images. Not --read-only: the deployer's image writes
    $HOME/.agentscope-runtime at start (ours points HOME at /tmp, and
    test_image.py runs it read-only)."""
    times = []
    for _ in range(runs):
        port = _free_port()
        seconds, cid = seconds_to_healthy(
            ["--network", "host", "-e", "AGENT_API_TOKEN=bench", "-e", "MODEL_PROVIDER=openai",
             "-e", f"MODEL_BASE_URL={fake.base_url}", "-e", "MODEL_NAME=fake",
             "-e", "HOST=127.0.0.1", "-e", f"PORT={port}", image],
            f"http://127.0.0.1:{port}/health",
        )
        ready = [json.loads(line) for line in podman("logs", cid).splitlines() if '"agent ready"' in line]
        podman("rm", "-f", "-t", "2", cid)
        times.append((round(seconds, 2), ready[0]["startup_cpu_s"]))
    return times


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _contexts(root: Path) -> dict[str, tuple[Path, str, str | None]]:
    ours_ctx = root / "ours"
    shutil.copytree(HERE, ours_ctx, ignore=shutil.ignore_patterns("__pycache__", "bench*"))
    return {"ours": (ours_ctx, OURS, "agent"), "deployer": (deployer_context(root), THEIRS, None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--startup-only", action="store_true",
                        help="reuse the images of the last run and time only the starts")
    args = parser.parse_args()
    result: dict[str, dict[str, object]] = {"ours": {}, "deployer": {}}
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        if args.startup_only:
            contexts = {}
        else:
            contexts = _contexts(Path(tmp))
        for name, (ctx, tag, target) in contexts.items():
            build(ctx, tag, target=target)
            rebuild_s = build(code_change(ctx), tag + "-changed", target=target)
            result[name] = {
                "code_change_rebuilt_bytes": rebuilt_bytes(tag, tag + "-changed"),
                "code_change_rebuild_seconds": round(rebuild_s, 1),
            }
            podman("rmi", tag + "-changed", check=False)
            print(name, result[name], file=sys.stderr, flush=True)
    load_before = round(os.getloadavg()[0], 2)
    with FakeModel() as fake:
        startups(OURS, 1, fake), startups(THEIRS, 1, fake)  # warm the page cache, then alternate
        runs = {"ours": [], "deployer": []}
        for _ in range(args.runs):
            runs["ours"] += startups(OURS, 1, fake)
            runs["deployer"] += startups(THEIRS, 1, fake)
    for name, tag in (("ours", OURS), ("deployer", THEIRS)):
        result[name]["image_bytes"] = image_size(tag)
    for name, pairs in runs.items():
        result[name]["seconds_to_healthy"] = [wall for wall, _ in pairs]
        result[name]["seconds_to_healthy_median"] = statistics.median(wall for wall, _ in pairs)
        result[name]["startup_cpu_seconds_median"] = statistics.median(cpu for _, cpu in pairs)
    result["machine"] = {"cpus": os.cpu_count(), "load_avg_1m_after": round(os.getloadavg()[0], 2),
                         "load_avg_1m_before_starts": load_before, "base_image": BASE_IMAGE}
    print(json.dumps(result, indent=2))
    ours, theirs = result["ours"], result["deployer"]
    print(f"\n| | ours | deployer template |\n|---|---|---|\n"
          f"| image size | {ours['image_bytes'] / 1e6:.0f} MB | {theirs['image_bytes'] / 1e6:.0f} MB |")
    if "code_change_rebuilt_bytes" in ours:
        print(f"| rebuilt by a code-only change | {ours['code_change_rebuilt_bytes'] / 1e3:.0f} kB "
              f"| {theirs['code_change_rebuilt_bytes'] / 1e6:.0f} MB |")
    print(f"| podman run to healthy /health (median of {args.runs}) | {ours['seconds_to_healthy_median']} s "
          f"| {theirs['seconds_to_healthy_median']} s |")
    print(f"| CPU seconds of the app until ready (median) | {ours['startup_cpu_seconds_median']} s "
          f"| {theirs['startup_cpu_seconds_median']} s |")


if __name__ == "__main__":
    main()
