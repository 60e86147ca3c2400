"""`python -m sandbox_server`: exits with code 2 on a missing or default token."""
from __future__ import annotations

import os
import sys

from .settings import ConfigError, load


def main() -> int:
    try:
        settings = load()
    except ConfigError as error:
        print(f"sandbox_server: {error}", file=sys.stderr)
        return 2
    # Upstream's routers read these at import; the workspace and the IPython
    # shell's cwd live in /tmp, the only writable place.
    os.environ.setdefault("WORKSPACE_DIR", settings.workspace)
    os.makedirs(settings.workspace, exist_ok=True)
    os.chdir(settings.workspace)
    import uvicorn

    from .app import create_app

    uvicorn.run(create_app(settings.token), host=settings.host, port=settings.port,
                log_level="info", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
