"""The user's own 2.x code: AGENTSCOPE_USER_MODULE names a module (under /app in the image, or on
PYTHONPATH) whose attributes with these names are passed to `agentscope.app.create_app`
(agentscope/app/_app.py documents each). Anything else in the module is ignored; the storage,
message bus, workspace manager and access policy stay the launcher's.
"""
from __future__ import annotations

import importlib
from typing import Any

HOOKS = ("custom_agent_cls", "extra_agent_tools", "extra_agent_middlewares", "custom_subagent_templates")


def load(module_name: str | None) -> dict[str, Any]:
    if not module_name:
        return {}
    module = importlib.import_module(module_name)
    found = {name: getattr(module, name) for name in HOOKS if getattr(module, name, None) is not None}
    if not found:
        raise ValueError(f"AGENTSCOPE_USER_MODULE={module_name} defines none of {', '.join(HOOKS)}")
    return found
