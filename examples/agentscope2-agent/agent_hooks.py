"""A minimal AgentScope 2.x agent as a user brings it: only the hooks that make it theirs.

The stack starts it with agent-image/agentscope2_launcher, which builds the service with
`agentscope.app.create_app` (RedisStorage, RedisMessageBus, the model key from the Kubernetes
Secret, one agent created at start-up) and passes it the names below that this module defines:
`extra_agent_tools`, `custom_agent_cls`, `extra_agent_middlewares`, `custom_subagent_templates`
(create_app's docstring, agentscope/app/_app.py, documents each).
"""
from __future__ import annotations

from datetime import datetime, timezone

from agentscope.permission import PermissionBehavior, PermissionDecision
from agentscope.tool import FunctionTool, ToolBase


def utc_now() -> str:
    """The current date and time in UTC, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def word_count(text: str) -> str:
    """How many words the text has.

    Args:
        text (`str`): The text to count the words of.
    """
    return str(len(text.split()))


# Read-only and harmless: allowed without asking the user (a FunctionTool asks by default).
_ALLOW = PermissionDecision(behavior=PermissionBehavior.ALLOW, message="read-only tool")


async def extra_agent_tools(user_id: str, agent_id: str, session_id: str) -> list[ToolBase]:
    """The tools added to the agent's toolkit on each turn (per user, agent and session)."""
    return [
        FunctionTool(utc_now, is_read_only=True, permission=_ALLOW),
        FunctionTool(word_count, is_read_only=True, permission=_ALLOW),
    ]
