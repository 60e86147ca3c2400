"""The ReAct agent of the seed article, with its model chosen by configuration."""
from __future__ import annotations

from agentscope.agent import ReActAgent
from agentscope.formatter import DashScopeChatFormatter, FormatterBase, OpenAIChatFormatter
from agentscope.memory import InMemoryMemory
from agentscope.model import ChatModelBase, DashScopeChatModel, OpenAIChatModel
from agentscope.tool import Toolkit

from .settings import Settings


def build_model(settings: Settings) -> tuple[ChatModelBase, FormatterBase]:
    key = settings.model_api_key.get_secret_value() if settings.model_api_key else None
    if settings.model_provider == "openai":
        model = OpenAIChatModel(
            settings.model_name,
            # Self-hosted servers often need no key, but the client insists on one.
            api_key=key or "none",
            stream=True,
            client_kwargs={"base_url": settings.model_base_url},
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
