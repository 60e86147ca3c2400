"""`python -m stand_in_model`: serve on $HOST:$PORT (default 0.0.0.0:8080) until SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from .server import MODEL_NAME, StandInModelServer


def log(entry: dict[str, Any]) -> None:
    line = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": "INFO", "logger": "stand_in_model", **entry}
    print(json.dumps(line, ensure_ascii=False), flush=True)


def main() -> int:
    host = os.environ.get("HOST") or "0.0.0.0"
    port_text = os.environ.get("PORT") or "8080"
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        print(f"stand_in_model: PORT must be a port number, got {port_text!r}", file=sys.stderr)
        return 2
    server = StandInModelServer(host, int(port_text), log=log)

    def stop(signum: int, _frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return, so not from its own thread.
        log({"msg": "stopping", "signal": signal.Signals(signum).name})
        threading.Thread(target=server.server.shutdown, daemon=True).start()

    # As PID 1 in a container, SIGTERM without a handler would be ignored.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log({"msg": "listening", "host": host, "port": server.port, "model": MODEL_NAME,
         "note": "scripted answers, not a language model"})
    server.serve_forever()
    server.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
