"""observability.tracing (Friday's OpenTelemetry set-up), wherever it is: the images copy the
`observability` package into this one (agent-image/Dockerfile), so that a user's own top-level
`observability` cannot shadow it; run from the source tree (tests), it is the top-level package."""
from __future__ import annotations

try:
    from .observability import tracing
except ImportError:
    from observability import tracing  # type: ignore[no-redef]

__all__ = ["tracing"]
