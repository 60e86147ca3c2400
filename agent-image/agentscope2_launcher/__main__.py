"""`python -m agentscope2_launcher`: an AgentScope 2.x service (agentscope.app.create_app) with
RedisStorage and RedisMessageBus, configured from the environment, served by uvicorn.

Identity is the `X-User-ID` header, which the gateway in front sets (components/assets/gateway.py,
GATEWAY_AUTH=bearer); this process must not be reachable except through it.
"""
from __future__ import annotations

import logging
import os
import sys

from .config import ConfigError, load


def main() -> int:
    try:
        cfg = load(os.environ)
    except ConfigError as e:
        print(f"agentscope2_launcher: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(level=cfg.log_level.upper(), stream=sys.stderr)
    # Imported only now: agentscope takes seconds to import, and a config error needs none of it.
    from .service import run

    run(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
