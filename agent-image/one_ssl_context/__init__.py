"""One SSL context for the httpx clients upstream code opens per call.

agentscope-runtime opens a new `httpx.AsyncClient` for every call the sandbox manager forwards to
a sandbox (sandbox/manager/sandbox_manager.py `_establish_connection_async`), and for every
sandbox an agent claims (the remote SandboxManager its BaseSandboxAsync makes). httpx loads
certifi's CA bundle into a new SSL context for each client, even for plain-HTTP peers. Inside a
0.25-vCPU limit that took 0.3 to 0.7 s per client on the embedded cluster (measured in the
manager and agent pods, and by bench/warm_pool.py); one shared context makes a new client cheap.
Nothing else about the clients changes. Shipped in the agent and sandbox-manager images.
"""
from __future__ import annotations

import types
from typing import Any

import httpx

_SHARED_CONTEXT = httpx.create_ssl_context()


class SharedContextAsyncClient(httpx.AsyncClient):
    """`httpx.AsyncClient` that reuses one SSL context unless the caller passes its own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("verify", _SHARED_CONTEXT)
        super().__init__(*args, **kwargs)


class _HttpxView(types.ModuleType):
    """httpx as a patched module sees it: the same, but for AsyncClient."""

    AsyncClient = SharedContextAsyncClient

    def __getattr__(self, name: str) -> Any:
        return getattr(httpx, name)


def install(module: types.ModuleType) -> None:
    """Makes `module`'s `httpx.AsyncClient(...)` calls share the one context."""
    current = getattr(module, "httpx", None)
    if current is not httpx and not isinstance(current, _HttpxView):
        raise TypeError(f"{module.__name__} does not use httpx as a module global")
    module.httpx = _HttpxView("httpx")  # type: ignore[attr-defined]
