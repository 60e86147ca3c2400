"""agent-image/sandbox_server's start-up rules (the HTTP surface and
run_ipython_cell are exercised in the built image by test_image.py: the
sandbox's dependencies, IPython among them, are not in the agent's lock)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import AGENT_DIR

sys.path.insert(0, str(AGENT_DIR))

from sandbox_server import settings  # noqa: E402


def test_settings_with_a_token_and_defaults() -> None:
    s = settings.load({"SECRET_TOKEN": "0123456789abcdef"})
    assert s == settings.Settings(token="0123456789abcdef", host="0.0.0.0", port=8090, workspace="/tmp/workspace")
    assert settings.load({"SECRET_TOKEN": "t" * 32, "PORT": "9000", "HOST": "127.0.0.1"}).port == 9000


@pytest.mark.parametrize("env", [{}, {"SECRET_TOKEN": ""}, {"SECRET_TOKEN": "  "}, {"SECRET_TOKEN": "secret_token123"}])
def test_settings_refuse_a_missing_empty_or_default_token(env: dict[str, str]) -> None:
    with pytest.raises(settings.ConfigError, match="SECRET_TOKEN"):
        settings.load(env)


@pytest.mark.parametrize("port", ["0", "http", "70000"])
def test_settings_refuse_a_bad_port(port: str) -> None:
    with pytest.raises(settings.ConfigError, match="PORT"):
        settings.load({"SECRET_TOKEN": "t" * 32, "PORT": port})


@pytest.mark.parametrize("token", [None, "secret_token123"])
def test_the_server_exits_2_before_serving_without_its_own_token(token: str | None) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(AGENT_DIR)}
    if token is not None:
        env["SECRET_TOKEN"] = token
    r = subprocess.run([sys.executable, "-m", "sandbox_server"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "SECRET_TOKEN" in r.stderr


def test_mcp_types_load_without_the_mcp_package_init_which_runs_later() -> None:
    # A child process: the deferred package must be the first `mcp` the interpreter sees.
    code = (
        "import sys\n"
        "from sandbox_server import upstream\n"
        "upstream.defer_mcp_package()\n"
        "from mcp.types import CallToolResult, TextContent\n"
        "print(sorted(m for m in ('mcp.client', 'mcp.server') if m in sys.modules))\n"
        "CallToolResult(content=[TextContent(type='text', text='x')])\n"
        "upstream.complete_mcp_package()\n"
        "from mcp import ClientSession, StdioServerParameters\n"
        "import mcp.types\n"
        "print(mcp.types.CallToolResult is CallToolResult, 'mcp.client' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(AGENT_DIR), "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["[]", "True True"]


def test_a_late_router_serves_after_its_load_and_requests_under_it_wait() -> None:
    import asyncio
    import threading

    import httpx
    from fastapi import APIRouter, FastAPI

    from sandbox_server.app import PREFIX, LateRouter

    release = threading.Event()
    loads: list[int] = []

    def load() -> APIRouter:
        loads.append(1)
        release.wait(10)  # the import, in its thread: the event loop keeps serving meanwhile
        router = APIRouter()
        router.get("/mcp/list_tools")(lambda: {"tools": []})
        return router

    app = FastAPI()
    late = LateRouter(app, PREFIX + "/mcp/", load, [])

    @app.middleware("http")
    async def late_routes(request, call_next):  # type: ignore[no-untyped-def]
        await late.wait_if_needed(request.url.path)
        response = await call_next(request)
        late.start()
        return response

    app.get("/healthz")(lambda: "OK")

    async def scenario() -> tuple[int, int, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            assert (await client.get("/healthz")).status_code == 200  # starts the load
            waiting = asyncio.create_task(client.get(PREFIX + "/mcp/list_tools"))
            probe = (await client.get("/healthz")).status_code  # served while the load runs
            await asyncio.sleep(0.05)
            assert not waiting.done()
            release.set()
            tools = await waiting
            return probe, tools.status_code, (await client.get(PREFIX + "/mcp/list_tools")).status_code

    assert asyncio.run(scenario()) == (200, 200, 200)
    assert loads == [1]


def test_the_claim_routes_are_matched_once_without_the_token_and_never_run() -> None:
    import asyncio

    import httpx
    from fastapi import Depends, FastAPI

    from sandbox_server.app import CLAIM_ROUTES, PREFIX, RouteWarmUp, bearer_check

    token = "t" * 32
    seen: list[tuple[str, str | None]] = []
    runs: list[str] = []
    app = FastAPI()

    @app.middleware("http")
    async def record(request, call_next):  # type: ignore[no-untyped-def]
        seen.append((request.url.path, request.headers.get("authorization")))
        return await call_next(request)

    auth = [Depends(bearer_check(token))]
    app.get(PREFIX + "/healthz", dependencies=auth)(lambda: runs.append("healthz") or "OK")
    app.post(PREFIX + "/tools/run_ipython_cell", dependencies=auth)(lambda: runs.append("code") or {})
    warm = RouteWarmUp(app, CLAIM_ROUTES)

    async def scenario() -> int:
        warm.start()
        warm.start()  # once
        await warm.wait()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
            return (await client.get(PREFIX + "/healthz", headers={"Authorization": f"Bearer {token}"})).status_code

    assert asyncio.run(scenario()) == 200
    # The two routes upstream's client calls first, each reached once, with no token: refused, not run.
    assert seen[:2] == [(PREFIX + "/healthz", None), (PREFIX + "/tools/run_ipython_cell", None)]
    assert runs == ["healthz"]  # only the real request ran
