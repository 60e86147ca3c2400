"""Run with the AgentScope 2.x virtualenv's Python (test_agentscope2.py does): loads the example's
hooks module as agentscope2_launcher does and prints, as JSON, what its tools are and answer."""
from __future__ import annotations

import asyncio
import json
import sys

from agentscope.permission import PermissionBehavior

sys.path[:0] = sys.argv[1:2]  # the example's directory
from agentscope2_launcher import hooks  # noqa: E402


async def main() -> None:
    found = hooks.load("agent_hooks")
    tools = await found["extra_agent_tools"]("alice", "helper", "s-1")
    out = {"hooks": sorted(found)}
    for tool in tools:
        permission = await tool.check_permissions()
        chunk = await tool(**({"text": "one two three"} if tool.name == "word_count" else {}))
        out[tool.name] = {
            "read_only": tool.is_read_only,
            "allowed": permission.behavior is PermissionBehavior.ALLOW,
            "schema": sorted(tool.input_schema.get("properties", {})),
            "text": "".join(block.text for block in chunk.content),
        }
    print(json.dumps(out))


asyncio.run(main())
