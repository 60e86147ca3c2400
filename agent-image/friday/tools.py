"""The Python execution tool: in the sandbox pool, or in a confined child
process of the agent only when ALLOW_LOCAL_CODE_EXECUTION is set explicitly."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from agentscope.message import TextBlock
from agentscope.tool import ToolResponse, Toolkit

import one_ssl_context
from observability.tracing import instrument_httpx, tracing_enabled

from .local_code import Limits, local_python_tool
from .settings import Settings

log = logging.getLogger(__name__)

ToolFunc = Callable[..., Awaitable[ToolResponse]]


class SandboxLease:
    """One sandbox from the manager's pool for the length of a turn: taken at
    the first tool call, so turns without code cost nothing, and given back
    when the turn ends."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._box = None

    async def run_ipython_cell(self, code: str) -> object:
        if self._box is None:
            # Imported on first use: the sandbox client pulls in the manager
            # module, which the agent's start-up does not need.
            from agentscope_runtime.sandbox import BaseSandboxAsync
            from agentscope_runtime.sandbox.enums import SandboxType
            from agentscope_runtime.sandbox.manager import sandbox_manager

            # Each claim's manager client is a new httpx client: see one_ssl_context.
            one_ssl_context.install(sandbox_manager)

            token = self._settings.sandbox_manager_token
            box = BaseSandboxAsync(
                base_url=self._settings.sandbox_manager_url,
                bearer_token=token.get_secret_value() if token else None,
                sandbox_type=SandboxType(self._settings.sandbox_type),
            )
            if tracing_enabled():
                # The claim and every call to the manager carry the turn's traceparent.
                instrument_httpx(box.manager_api.httpx_client)
            await box.start_async()
            self._box = box
            log.info("sandbox acquired", extra={"sandbox_id": box.sandbox_id})
        return await self._box.call_tool_async("run_ipython_cell", {"code": code})

    async def release(self) -> None:
        box, self._box = self._box, None
        if box is None:
            return
        try:
            await box.close_async()  # POST /release_async for this sandbox only
        finally:
            # Not manager_api.__aexit__: in remote mode that asks the server to
            # clean up every sandbox it owns.
            await box.manager_api.httpx_client.aclose()
            box.manager_api.http_session.close()
        log.info("sandbox released", extra={"sandbox_id": box.sandbox_id})


def _as_tool_response(result: object) -> ToolResponse:
    from agentscope_runtime.adapters.agentscope.tool.sandbox_tool import sandbox_tool_adapter

    # The runtime's adapter turns the sandbox's MCP-style result into blocks.
    return sandbox_tool_adapter(lambda: result)()


def sandbox_python_tool(lease: SandboxLease) -> ToolFunc:
    async def execute_python_code(code: str) -> ToolResponse:
        """Execute Python code in an isolated sandbox and return its output.
        Print what you want to see: only standard output and errors come back.

        Args:
            code (`str`):
                The Python code to execute.
        """
        try:
            return _as_tool_response(await lease.run_ipython_cell(code))
        except Exception as exc:  # the model should see the failure, not the user a 500
            log.exception("sandbox call failed")
            return ToolResponse(content=[TextBlock(type="text", text=f"Error: sandbox unavailable: {exc}")])

    return execute_python_code


def local_limits(settings: Settings) -> Limits:
    return Limits(
        timeout_s=settings.local_code_timeout_seconds,
        cpu_s=settings.local_code_cpu_seconds,
        memory_mb=settings.local_code_memory_mb,
        max_processes=settings.local_code_max_processes,
    )


def make_toolkit(settings: Settings, lease: SandboxLease | None) -> Toolkit:
    toolkit = Toolkit()
    if lease is not None:
        toolkit.register_tool_function(sandbox_python_tool(lease))
    elif settings.code_execution == "local":
        toolkit.register_tool_function(local_python_tool(local_limits(settings)))
    return toolkit
