"""`python -m agentscope2_launcher`: an AgentScope 2.x service (agentscope.app.create_app) with
RedisStorage and RedisMessageBus, configured from the environment, served by uvicorn.

Identity is the `X-User-ID` header, which the gateway in front sets (components/assets/gateway.py,
GATEWAY_AUTH=bearer); this process must not be reachable except through it.
"""
from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import sys

from .config import Config, ConfigError, load
from .workspace_settings import SETTINGS_ENV, load_settings


_PR_SET_DUMPABLE = 4


def protect_process() -> None:
    """The secrets are gone from os.environ, but /proc/<this>/environ keeps the initial block:
    non-dumpable makes it unreadable to the same uid (proc(5)), i.e. to what a local workspace's
    Bash tool runs. Friday's local code does the same (friday/local_code.py)."""
    if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        logging.getLogger("agentscope2_launcher").warning("could not make the process non-dumpable")


def check_workspaces(cfg: Config) -> None:
    """Pod workspaces need readable settings and 2.x's `workspace-k8s` extra (kubernetes_asyncio)."""
    if not cfg.workspace_pod_settings:
        return
    try:
        load_settings(cfg.workspace_pod_settings)
    except (OSError, ValueError) as e:  # SettingsError and json's errors are ValueErrors
        raise ConfigError(f"{SETTINGS_ENV} ({cfg.workspace_pod_settings}): {e}") from None
    if importlib.util.find_spec("kubernetes_asyncio") is None:
        raise ConfigError("workspaces in pods need kubernetes_asyncio: lock agentscope[workspace-k8s] in the app's requirements")


def main() -> int:
    try:
        cfg = load(os.environ)
        check_workspaces(cfg)
    except ConfigError as e:
        print(f"agentscope2_launcher: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(level=cfg.log_level.upper(), stream=sys.stderr)
    protect_process()
    # Imported only now: agentscope takes seconds to import, and a config error needs none of it.
    from .service import run

    run(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
