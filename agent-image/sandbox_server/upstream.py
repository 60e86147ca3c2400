"""Loads the sandbox routers from the installed agentscope-runtime wheel
without importing `agentscope_runtime` itself (its __init__ pulls in the
manager, docker and kubernetes) or the routers' __init__ (which imports the
git watcher, and so needs a git binary this image does not have).

Start-up cost (bench/sandbox_start.py, `python -X importtime`): `mcp`'s package __init__ imports
its client, server and FastMCP, about 0.25 s of CPU, 1 s of a 0.25-CPU sandbox. The generic router
needs only `mcp.types`, so `mcp` starts as a bare package whose submodules load on demand; the
mcp router (and with it the real package __init__) loads after the server is serving."""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

from fastapi import APIRouter

PACKAGE = "_agentscope_sandbox_routers"
MCP = "mcp"


def routers_dir() -> Path:
    spec = importlib.util.find_spec("agentscope_runtime")  # finds, does not import
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("agentscope-runtime is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "sandbox" / "box" / "shared" / "routers"
    if not (path / "generic.py").is_file():
        raise RuntimeError(f"agentscope-runtime changed: {path}/generic.py is missing")
    return path


def _package() -> str:
    if PACKAGE not in sys.modules:
        pkg = types.ModuleType(PACKAGE)
        pkg.__path__ = [str(routers_dir())]  # relative imports (mcp -> .mcp_utils) resolve here
        sys.modules[PACKAGE] = pkg
    return PACKAGE


def defer_mcp_package() -> None:
    """Makes `mcp` a package whose __init__ has not run, so `import mcp.types` loads that module only."""
    if MCP in sys.modules:
        return
    spec = importlib.util.find_spec(MCP)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("mcp is not installed")
    pkg = importlib.util.module_from_spec(spec)  # the real module object, its code not run yet
    pkg.__dict__["_agentscope_deferred"] = True
    sys.modules[MCP] = pkg


def complete_mcp_package() -> None:
    """Runs `mcp`'s own __init__ in the deferred package (submodules already loaded are reused)."""
    pkg = sys.modules.get(MCP)
    if pkg is None:
        importlib.import_module(MCP)
        return
    if pkg.__dict__.pop("_agentscope_deferred", False):
        assert pkg.__spec__ is not None and pkg.__spec__.loader is not None
        pkg.__spec__.loader.exec_module(pkg)


def router(module: str, attribute: str) -> APIRouter:
    loaded = importlib.import_module(f"{_package()}.{module}")
    found = getattr(loaded, attribute)
    if not isinstance(found, APIRouter):
        raise RuntimeError(f"agentscope-runtime changed: {module}.{attribute} is not an APIRouter")
    return found
