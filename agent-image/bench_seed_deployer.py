"""Writes the build context agentscope-runtime 1.0.1's Kubernetes deployer makes
for the seed's sample: the same calls as its ImageFactory._build_image (the
startup command, the Dockerfile from its default template, build_detached_app
with the project and requirements), without building or pushing.

Runs under a Python with the seed's own lock (agentscope-runtime 1.0.1), from
agent-image/bench_seed.py. Prints the context directory.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from agentscope_runtime.engine.deployers.utils.detached_app import build_detached_app
from agentscope_runtime.engine.deployers.utils.docker_image_utils.dockerfile_generator import (
    DockerfileConfig,
    DockerfileGenerator,
)
from agentscope_runtime.engine.deployers.utils.docker_image_utils.image_factory import (
    ImageConfig,
    ImageFactory,
)
from agentscope_runtime.engine.deployers.utils.package import DEFAULT_ENTRYPOINT_FILE

# The template's two sources this machine cannot reach, and the proxy CA pip
# needs behind it; each edit is asserted, so a template change is noticed.
TEMPLATE_EDITS = [
    ("https://mirrors.aliyun.com/debian/", "http://deb.debian.org/debian/"),
    ("https://mirrors.aliyun.com/debian-security/", "http://deb.debian.org/debian-security/"),
    (" \\\n        -i https://pypi.tuna.tsinghua.edu.cn/simple", ""),
    ("RUN pip install", "RUN --mount=type=secret,id=pip-ca PIP_CERT=/run/secrets/pip-ca pip install"),
    ("RUN if [ -f requirements.txt ]; then \\\n        pip install",
     "RUN --mount=type=secret,id=pip-ca if [ -f requirements.txt ]; then \\\n"
     "        PIP_CERT=/run/secrets/pip-ca pip install"),
]


def template() -> str:
    text = DockerfileGenerator.DEFAULT_TEMPLATE
    for old, new in TEMPLATE_EDITS:
        if old not in text:
            raise SystemExit(f"the 1.0.1 template changed: {old!r} not found")
        text = text.replace(old, new)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", type=Path, required=True, help="directory holding app.py")
    parser.add_argument("--app", default="app:agent_app")
    parser.add_argument("--requirements", type=Path, required=True,
                        help="the deploy call's `requirements`, one per line")
    parser.add_argument("--base-image", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    module, attribute = args.app.split(":")
    sys.path.insert(0, str(args.project.resolve()))
    requirements = [line.strip() for line in args.requirements.read_text().splitlines() if line.strip()]

    # The seed's deploy call: port 8080, its base image (ours here, for both images), no
    # extra packages (its `others/other_project.py` is not part of the sample).
    config = ImageConfig(requirements=requirements, base_image=args.base_image, port=8080)
    dockerfile = DockerfileGenerator().create_dockerfile(DockerfileConfig(
        base_image=config.base_image, port=config.port, env_vars=config.env_vars,
        startup_command=ImageFactory._generate_startup_command(DEFAULT_ENTRYPOINT_FILE, config),
        custom_template=template(),
    ))
    # build_detached_app reads the runtime's version from a pyproject.toml next to it or in
    # the working directory: none here, as for any install from PyPI.
    os.chdir(args.out.resolve().parent)
    print(call_from_app_module(module, attribute, requirements=requirements, extra_packages=[],
                               output_dir=str(args.out), dockerfile_path=dockerfile))


def call_from_app_module(module: str, attribute: str, **kwargs: object) -> str:
    """build_detached_app takes the project from the first frame up its stack that holds
    the app: the seed calls it from app.py itself, so the call runs in that module."""
    namespace = importlib.import_module(module).__dict__
    namespace["_bench_deploy"] = build_detached_app
    namespace["_bench_kwargs"] = kwargs
    call = f"_bench_context, _ = _bench_deploy(app={attribute}, **_bench_kwargs)"
    exec(compile(call, namespace["__file__"], "exec"), namespace)  # noqa: S102
    return str(namespace["_bench_context"])


if __name__ == "__main__":
    main()
