"""agent_launcher/tasks.py without a broker: the broker URL it builds from the
stack's settings, what a task's result becomes, which tasks it finds, and the
launcher refusing what it cannot run (this venv's runtime is 1.1.6.post2).
Tasks on Redis with a real worker, 1.0.1 (the seed's) and 1.1.x:
test_user_agent_image.py."""
from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from conftest import free_port
from test_agent_launcher import launcher_env, user_dir  # noqa: F401  (fixture)

from agent_launcher import tasks


def test_the_broker_url_is_redis_url_with_the_password_put_in() -> None:
    assert tasks.broker_url({"REDIS_URL": "redis://redis.ns.svc:6379/0", "REDIS_PASSWORD": "s3cret"}) \
        == "redis://:s3cret@redis.ns.svc:6379/0"
    # Characters a URL would misread are escaped, TLS kept.
    assert tasks.broker_url({"REDIS_URL": "rediss://r-abc.redis.rds.aliyuncs.com:6380/2", "REDIS_PASSWORD": "a@b/c:d"}) \
        == "rediss://:a%40b%2Fc%3Ad@r-abc.redis.rds.aliyuncs.com:6380/2"
    assert tasks.broker_url({"REDIS_URL": "redis://127.0.0.1:6379/0"}) == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize("environ, says", [
    ({}, "needs REDIS_URL"),
    ({"REDIS_URL": "http://redis:6379/0"}, "redis:// or rediss://"),
    ({"REDIS_URL": "redis:///0"}, "redis:// or rediss://"),
])
def test_a_bad_redis_setting_says_what_is_wrong(environ: dict[str, str], says: str) -> None:
    with pytest.raises(tasks.TaskSetupError, match=says):
        tasks.broker_url(environ)


def test_a_generator_task_returns_what_it_yields() -> None:
    def sync_gen() -> Iterator[dict[str, int]]:
        yield {"n": 1}
        yield {"n": 2}

    async def async_gen() -> AsyncIterator[str]:
        await asyncio.sleep(0)
        yield "a"
        yield "b"

    async def coroutine() -> str:
        return "done"

    assert tasks.collected(sync_gen()) == [{"n": 1}, {"n": 2}]
    assert tasks.collected(async_gen()) == ["a", "b"]
    assert tasks.collected(coroutine()) == "done"
    assert tasks.collected({"plain": True}) == {"plain": True}


def test_declared_tasks_are_the_apps_task_routes_with_their_queues() -> None:
    def first(request: object) -> None: ...

    def second(request: object) -> None: ...

    class App:
        custom_endpoints = [
            {"path": "/sync", "handler": first, "methods": ["POST"]},
            {"path": "/task", "handler": first, "queue": "celery1", "task_type": True},
            {"path": "/atask", "handler": second, "queue": "default", "task_type": True},
        ]

    found = tasks.declared_tasks(App())
    assert [(t.path, t.queue) for t in found] == [("/task", "celery1"), ("/atask", "default")]
    # One Celery name per function: 1.0.1 gives every task the same one.
    assert len({t.celery_name for t in found}) == 2
    assert found[0].celery_name.endswith("test_declared_tasks_are_the_apps_task_routes_with_their_queues.<locals>.first")
    assert tasks.declared_tasks(object()) == []


def run_launcher(user_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:  # noqa: F811
    return subprocess.run([sys.executable, "-m", "agent_launcher", *args], cwd=user_dir, capture_output=True,
                          text=True, timeout=120, env={**launcher_env(user_dir, "mine:agent_app", free_port()), **env})


def test_a_1_1_app_without_celery_is_refused_saying_so(user_dir: Path) -> None:  # noqa: F811
    """This venv's 1.1.6.post2 has no celery (not one of its dependencies): given the broker, its
    AgentApp falls back to the app process, so the launcher stops instead."""
    result = run_launcher(user_dir, AGENT_TASKS="celery", REDIS_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "the app has no Celery: add celery to its requirements" in result.stderr
    result = run_launcher(user_dir, "worker", AGENT_TASKS="celery")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "needs REDIS_URL" in result.stderr


@pytest.mark.parametrize("args, env, says", [
    (["worker"], {}, "AGENT_TASKS must be `celery`"),
    (["serve"], {"AGENT_TASKS": "yes"}, "AGENT_TASKS must be `celery`"),
    (["tasks"], {}, "unknown mode 'tasks'"),
])
def test_a_bad_mode_or_setting_exits_2(user_dir: Path, args: list[str], env: dict[str, str], says: str) -> None:  # noqa: F811
    result = run_launcher(user_dir, *args, **env)
    assert result.returncode == 2, result.stderr[-2000:]
    assert says in result.stderr
