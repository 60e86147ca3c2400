"""python -m agent_launcher: imports AGENT_APP (`module:attribute`, the
module found on PYTHONPATH=/app) and serves it on HOST:PORT.
python -m agent_launcher worker: runs the app's `@agent_app.task`s from the
stack's Redis instead (AGENT_TASKS=celery, in the API process too; tasks.py).

AgentApp.run(host=, port=) exists in agentscope-runtime 1.0.1 (it builds the
FastAPI app with FastAPIAppFactory, then uvicorn.run) and in 1.1.x (AgentApp
is itself the FastAPI app; run() calls uvicorn.run(self)). The runtime's own
deployer templates (deployers/utils/templates/app_main.py.j2) call run() too,
but with mode=DETACHED_PROCESS, which in 1.0.1 adds unauthenticated
process-control routes. Here run() keeps the default mode, and the routes
that 1.1.x mounts on every AgentApp are removed before serving, as Friday
does."""
from __future__ import annotations

import importlib
import os
import sys

# agentscope-runtime 1.1.x AgentApp._add_process_control_endpoints: no auth,
# and /shutdown or /admin/shutdown stops the process for anyone on the port.
UNSAFE_ROUTES = frozenset({"/shutdown", "/admin/shutdown", "/admin/status"})


def load(spec: str) -> object:
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"AGENT_APP must be module:attribute, got {spec!r}")
    target: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def drop_unsafe_routes(app: object) -> None:
    """1.1.x: the AgentApp is the FastAPI app and has its routes already.
    1.0.1 builds its FastAPI app inside run(), without these routes."""
    router = getattr(app, "router", None)
    routes = getattr(router, "routes", None)
    if isinstance(routes, list):
        router.routes = [r for r in routes if getattr(r, "path", None) not in UNSAFE_ROUTES]  # type: ignore[union-attr]


def main(argv: list[str]) -> int:
    mode = argv[0] if argv else "serve"
    if mode not in ("serve", "worker"):
        print(f"agent_launcher: unknown mode {mode!r}: serve (the default) or worker", file=sys.stderr)
        return 2
    with_tasks = mode == "worker" or bool(os.environ.get("AGENT_TASKS"))
    agent_name = os.environ.get("AGENT_NAME", "agent")
    if with_tasks:
        from agent_launcher import tasks

        try:
            if not tasks.enabled():
                raise tasks.TaskSetupError(f"{tasks.TASKS_ENV} must be `celery` (or unset when serving)")
            tasks.prepare(agent_name, dict(os.environ))
        except tasks.TaskSetupError as exc:
            print(f"agent_launcher: {exc}", file=sys.stderr)
            return 2
    spec = os.environ.get("AGENT_APP", "")
    try:
        app = load(spec)
    except (ValueError, ImportError, AttributeError) as exc:
        print(f"agent_launcher: cannot load AGENT_APP: {exc}", file=sys.stderr)
        return 2
    run = getattr(app, "run", None)
    if not callable(run):
        print(f"agent_launcher: {spec} has no run(host=, port=): not an AgentApp", file=sys.stderr)
        return 2
    if with_tasks:
        try:
            celery, queues = tasks.register(app, agent_name, dict(os.environ))
            if mode == "worker":
                tasks.run_worker(celery, queues, dict(os.environ))
                return 0
        except tasks.TaskSetupError as exc:
            print(f"agent_launcher: {exc}", file=sys.stderr)
            return 2
    drop_unsafe_routes(app)
    run(host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8080")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
