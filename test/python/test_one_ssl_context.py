"""agent-image/one_ssl_context: the httpx clients upstream opens per call (one per call the
manager forwards to a sandbox, one per sandbox an agent claims) share one SSL context."""
from __future__ import annotations

import asyncio
import ssl
import sys
import types

import httpx
import pytest

from conftest import AGENT_DIR

sys.path.insert(0, str(AGENT_DIR))

import one_ssl_context  # noqa: E402


@pytest.fixture
def contexts_built(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records every SSL context httpx builds from here on."""
    built: list[object] = []
    real = ssl.create_default_context

    def spy(*args: object, **kwargs: object) -> ssl.SSLContext:
        built.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl, "create_default_context", spy)
    return built


def _sandbox_client_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    from agentscope_runtime.sandbox.client import async_http_client

    monkeypatch.setattr(async_http_client, "httpx", httpx)  # as shipped; restored afterwards
    return async_http_client


def _container() -> object:
    from agentscope_runtime.sandbox.model import ContainerModel

    return ContainerModel(session_id="s", container_id="c", container_name="sandbox-x",
                          url="http://sandbox-x-service.ns.svc:8090", ports=[8090], mount_dir="",
                          storage_path="", runtime_token="t", version="v")


def test_as_shipped_each_sandbox_client_builds_a_context(monkeypatch: pytest.MonkeyPatch, contexts_built: list[object]) -> None:
    module = _sandbox_client_module(monkeypatch)
    client = module.SandboxHttpAsyncClient(_container())
    assert len(contexts_built) == 1
    asyncio.run(client.client.aclose())


def test_installed_the_manager_sandbox_clients_build_none(monkeypatch: pytest.MonkeyPatch, contexts_built: list[object]) -> None:
    module = _sandbox_client_module(monkeypatch)
    one_ssl_context.install(module)
    one_ssl_context.install(module)  # twice is harmless
    first = module.SandboxHttpAsyncClient(_container())
    second = module.SandboxHttpAsyncClient(_container())
    assert contexts_built == []
    assert isinstance(first.client, one_ssl_context.SharedContextAsyncClient)
    assert first.client is not second.client  # still a client per call, only the context is shared
    # Everything else the module takes from httpx is httpx's own.
    assert module.httpx.HTTPStatusError is httpx.HTTPStatusError
    assert module.httpx.Timeout is httpx.Timeout
    for c in (first, second):
        asyncio.run(c.client.aclose())


def test_installed_an_agents_manager_client_builds_none(monkeypatch: pytest.MonkeyPatch, contexts_built: list[object]) -> None:
    from agentscope_runtime.sandbox.manager import sandbox_manager

    monkeypatch.setattr(sandbox_manager, "httpx", httpx)
    one_ssl_context.install(sandbox_manager)
    manager = sandbox_manager.SandboxManager(base_url="http://127.0.0.1:9", bearer_token="t")
    assert contexts_built == []
    assert isinstance(manager.httpx_client, one_ssl_context.SharedContextAsyncClient)
    asyncio.run(manager.httpx_client.aclose())
    manager.http_session.close()


def test_a_caller_passing_its_own_context_keeps_it(contexts_built: list[object]) -> None:
    own = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client = one_ssl_context.SharedContextAsyncClient(verify=own)
    assert contexts_built == []
    asyncio.run(client.aclose())


def test_install_refuses_a_module_without_httpx() -> None:
    with pytest.raises(TypeError, match="does not use httpx"):
        one_ssl_context.install(types.ModuleType("no_httpx_here"))
