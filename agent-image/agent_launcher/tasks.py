"""`@agent_app.task` on Celery with the stack's Redis, for agentscope-runtime 1.0.x and 1.1.x.

What 1.0.1 does with a broker (engine/app/celery_mixin.py, and
FastAPIAppFactory._create_task_handler) fails three ways, all seen with the
seed's sample, which declares two tasks:
- every task is registered under one Celery name (CeleryMixin's inner
  `wrapper`): the second replaces the first;
- a task is registered only when the API process first serves its route, so
  a separate worker never knows it ("unregistered task");
- a task written as a generator (both of the seed's `yield`) returns the
  generator object, which no result backend can store.
Here each task is registered at start-up, in the API process and the worker
alike, under its own name (its module and function), and the items a
generator yields are its result, as a list. 1.0.1's handler then finds
`celery_task` already set on the function, submits it, and reads its status
through the same Celery app.

1.1.x fixed all three (routing/task_engine_mixin.py), but picks Celery or the
app process when a task is decorated, and Celery only if the AgentApp was
constructed with broker_url and backend_url: `prepare` gives them to the
AgentApp constructor before the app's module is imported (unless the app
passes its own), and the worker runs the app's own Celery app.
"""
from __future__ import annotations

import asyncio
import functools
import inspect
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from celery import Celery

TASKS_ENV = "AGENT_TASKS"
CONCURRENCY_ENV = "AGENT_TASK_CONCURRENCY"


class TaskSetupError(Exception):
    """The app's tasks cannot run on the stack's broker; the message says why."""


@dataclass(frozen=True)
class DeclaredTask:
    path: str
    queue: str
    func: Callable[..., Any]

    @property
    def celery_name(self) -> str:
        return f"agent_tasks.{self.func.__module__}.{self.func.__qualname__}"


def enabled() -> bool:
    return os.environ.get(TASKS_ENV, "") == "celery"


def declared_tasks(app: object) -> list[DeclaredTask]:
    """The app's `@agent_app.task` routes, as 1.0.x's AgentApp.task records them."""
    endpoints = getattr(app, "custom_endpoints", None) or []
    return [DeclaredTask(path=e["path"], queue=e.get("queue") or "celery", func=e["handler"])
            for e in endpoints if isinstance(e, dict) and e.get("task_type")]


def broker_url(environ: dict[str, str]) -> str:
    """REDIS_URL with REDIS_PASSWORD put in (the stack keeps them apart: the password comes from a Secret)."""
    url = environ.get("REDIS_URL", "")
    if not url:
        raise TaskSetupError(f"{TASKS_ENV}=celery needs REDIS_URL: the stack's Redis is the broker")
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise TaskSetupError(f"REDIS_URL must be redis:// or rediss://host:port/db, got scheme {parts.scheme!r}")
    password = environ.get("REDIS_PASSWORD", "")
    if not password:
        return url
    netloc = f":{quote(password, safe='')}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def collected(result: Any) -> Any:
    """What a task returns, with generators run to the end: their items, as a list."""
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    if inspect.isasyncgen(result):
        return asyncio.run(_drain(result))
    if inspect.isgenerator(result):
        return list(result)
    return result


async def _drain(agen: Any) -> list[Any]:
    return [item async for item in agen]


def runtime_line() -> str:
    """`1.0` or `1.1`: the agentscope-runtime the app runs on; anything else is refused."""
    version = metadata.version("agentscope-runtime")
    line = ".".join(version.split(".")[:2])
    if line not in ("1.0", "1.1"):
        raise TaskSetupError(f"{TASKS_ENV}=celery supports agentscope-runtime 1.0.x and 1.1.x, this app has {version}")
    return line


def celery_settings(agent_name: str) -> dict[str, Any]:
    """Keys under the agent's own prefix: agents sharing the Redis never take each other's
    queues (two apps may both call theirs `default`)."""
    prefix = {"global_keyprefix": f"agent-tasks:{agent_name}:"}
    return dict(
        broker_transport_options=prefix,
        result_backend_transport_options=prefix,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # A task is acknowledged after it ran: a worker stopped mid-task gives it back to the queue.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
    )


def celery_app(agent_name: str, url: str) -> Celery:
    """1.0.x: one Celery app on the stack's Redis."""
    from celery import Celery  # 1.0.x's own dependency; only task-running apps import it

    app = Celery(f"agent-tasks-{agent_name}", broker=url, backend=url)
    app.conf.update(celery_settings(agent_name))
    return app


def prepare(agent_name: str, environ: dict[str, str]) -> None:
    """Before the app's module is imported. 1.1.x: every AgentApp constructed without broker URLs
    gets the stack's Redis, so its tasks go to Celery when decorated."""
    if runtime_line() != "1.1":
        return
    from agentscope_runtime.engine.app.agent_app import AgentApp

    url = broker_url(environ)
    original = AgentApp.__init__

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        # 1.1.x's AgentApp takes keywords only.
        if not kwargs.get("broker_url") and not kwargs.get("backend_url"):
            kwargs["broker_url"] = kwargs["backend_url"] = url
        original(self, *args, **kwargs)
        if getattr(self, "celery_app", None) is not None:
            self.celery_app.conf.update(celery_settings(agent_name))

    AgentApp.__init__ = init  # type: ignore[method-assign]


def register(app: object, agent_name: str, environ: dict[str, str]) -> tuple[Celery, list[str]]:
    """The app's Celery app and queues. 1.0.x: its tasks registered here, its routes pointed at
    them; 1.1.x: what it registered itself when its tasks were decorated."""
    if runtime_line() == "1.1":
        celery = getattr(app, "celery_app", None)
        if celery is None:
            raise TaskSetupError(f"{TASKS_ENV}=celery, but the app has no Celery: add celery to its requirements")
        queues = sorted(getattr(app, "_registered_queues", set()))
        if not queues:
            raise TaskSetupError(f"{TASKS_ENV}=celery, but the app declares no @agent_app.task")
        return celery, queues
    tasks = declared_tasks(app)
    if not tasks:
        raise TaskSetupError(f"{TASKS_ENV}=celery, but the app declares no @agent_app.task")
    url = broker_url(environ)
    celery = celery_app(agent_name, url)
    for task in tasks:
        func = task.func

        def run(request: Any = None, _func: Callable[..., Any] = func) -> Any:
            return collected(_func(request) if request is not None else _func())

        func.celery_task = celery.task(name=task.celery_name, queue=task.queue)(run)  # type: ignore[attr-defined]
    # FastAPIAppFactory takes the Celery branch only when the AgentApp has both URLs; it then
    # makes its own CeleryMixin, whose Celery app answers `GET /task/<id>`: that must be this one,
    # which reads results under the agent's prefix.
    from agentscope_runtime.engine.app import celery_mixin

    celery_mixin.Celery = lambda *_args, **_kwargs: celery  # type: ignore[attr-defined]
    setattr(app, "broker_url", url)
    setattr(app, "backend_url", url)
    return celery, sorted({t.queue for t in tasks})


def serve_health(host: str, port: int) -> ThreadingHTTPServer:
    """`GET /health` on HOST:PORT for the kubelet: 200 from the moment the worker consumes its
    queues until its shutdown starts, 503 before and after."""
    from celery import signals

    ready = threading.Event()
    signals.worker_ready.connect(lambda **_: ready.set(), weak=False)
    signals.worker_shutting_down.connect(lambda **_: ready.clear(), weak=False)

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            status = 404 if self.path != "/health" else 200 if ready.is_set() else 503
            body = b'{"status": "ready"}' if status == 200 else b"{}"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the http.server name)
            pass  # a probe every few seconds is not worth a log line

    server = ThreadingHTTPServer((host, port), Health)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server


def run_worker(celery: Celery, queues: list[str], environ: dict[str, str]) -> None:
    """Consumes the app's queues, with its health route on HOST:PORT. Threads, not prefork: the
    tasks of an agent wait on I/O, and no child processes means SIGTERM's warm shutdown reaches
    every running task."""
    concurrency = environ.get(CONCURRENCY_ENV, "2")
    if not concurrency.isdigit() or int(concurrency) < 1:
        raise TaskSetupError(f"{CONCURRENCY_ENV} must be a whole number of at least 1, got {concurrency!r}")
    serve_health(environ.get("HOST", "0.0.0.0"), int(environ.get("PORT", "8080")))
    celery.worker_main(["worker", "--loglevel=INFO", "--pool=threads", f"--concurrency={concurrency}",
                        "--without-gossip", "--without-mingle", "-Q", ",".join(queues)])
