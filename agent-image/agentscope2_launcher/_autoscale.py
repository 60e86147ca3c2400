"""The sandbox pool's autoscaler (sandbox_manager_ext/autoscale.py), reused for the warm pool of
workspace pods: the images copy that file into this package as `sandbox_autoscale`
(agent-image/Dockerfile); run from the source tree (tests), it is the top-level package's."""
from __future__ import annotations

try:
    from .sandbox_autoscale import Bounds, Scaler
except ImportError:  # the source tree
    from sandbox_manager_ext.autoscale import Bounds, Scaler  # type: ignore[no-redef]

__all__ = ["Bounds", "Scaler"]
