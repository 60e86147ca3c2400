"""Loads the sandbox routers from the installed agentscope-runtime wheel
without importing `agentscope_runtime` itself (its __init__ pulls in the
manager, docker and kubernetes) or the routers' __init__ (which imports the
git watcher, and so needs a git binary this image does not have)."""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

from fastapi import APIRouter

PACKAGE = "_agentscope_sandbox_routers"


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


def router(module: str, attribute: str) -> APIRouter:
    loaded = importlib.import_module(f"{_package()}.{module}")
    found = getattr(loaded, attribute)
    if not isinstance(found, APIRouter):
        raise RuntimeError(f"agentscope-runtime changed: {module}.{attribute} is not an APIRouter")
    return found
