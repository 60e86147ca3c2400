"""The ReAct agent of the seed article, with its model chosen by configuration."""
from __future__ import annotations

import openai
from agentscope.agent import ReActAgent
from agentscope.formatter import DashScopeChatFormatter, FormatterBase, OpenAIChatFormatter
from agentscope.memory import InMemoryMemory
from agentscope.model import ChatModelBase, DashScopeChatModel, OpenAIChatModel
from agentscope.tool import Toolkit

from observability.tracing import instrument_httpx, tracing_enabled

from .settings import Settings
from .telemetry import meter_model


def build_model(settings: Settings) -> tuple[ChatModelBase, FormatterBase]:
    model, formatter = _build_model(settings)
    return meter_model(model, settings.agent_name, settings.model_name), formatter


def _build_model(settings: Settings) -> tuple[ChatModelBase, FormatterBase]:
    key = settings.model_api_key.get_secret_value() if settings.model_api_key else None
    if settings.model_provider == "openai":
        client_kwargs: dict = {"base_url": settings.model_base_url}
        if tracing_enabled():
            # The model call carries traceparent (DashScope's SDK below has no such hook).
            client_kwargs["http_client"] = instrument_httpx(openai.DefaultAsyncHttpxClient())
        model = OpenAIChatModel(
            settings.model_name,
            # Self-hosted servers often need no key, but the client insists on one.
            api_key=key or "none",
            stream=True,
            client_kwargs=client_kwargs,
        )
        return model, OpenAIChatFormatter()
    model = DashScopeChatModel(
        settings.model_name,
        api_key=key,
        stream=True,
        # Lets MODEL_BASE_URL select another DashScope region.
        base_http_api_url=settings.model_base_url,
    )
    return model, DashScopeChatFormatter()


def build_agent(settings: Settings, toolkit: Toolkit, model: ChatModelBase, formatter: FormatterBase) -> ReActAgent:
    agent = ReActAgent(
        name=settings.agent_name,
        sys_prompt=f"You're a helpful assistant named {settings.agent_name}.",
        model=model,
        formatter=formatter,
        toolkit=toolkit,
        # Filled from, and saved back to, the session store on every turn.
        memory=InMemoryMemory(),
    )
    # The runtime streams messages to the client; nothing goes to stdout.
    agent.set_console_output_enabled(enabled=False)
    return agent
