"""A scripted OpenAI-compatible chat model on loopback, for tests and the bench.

It is the stand-in model the local stack deploys (agent-image/stand_in_model),
with the same seed script, plus what only tests need:
- A user turn mentioning "bubble" (or 冒泡) gets a call to `execute_python_code`
  with a bubble-sort program; a tool result gets the final answer quoting it.
- A user turn containing "RUN-CODE:" gets a call to `execute_python_code`
  with the text after that marker as the code.
- A user turn mentioning "slowly" streams one token every 0.2 s for a minute.
- A user turn containing "WAIT-SECONDS:<n>" streams one token every 0.2 s for n seconds (the
  bench's stand-in for a real model's answer time).
- Anything else gets "echo: " and every user text the model was sent, so a
  test can see the conversation history that reached the model.
Every request body is kept in `requests` for assertions.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "agent-image"))

from stand_in_model import StandInModelServer  # noqa: E402
from stand_in_model.script import (  # noqa: E402
    BUBBLE_OUTPUT, BUBBLE_SORT, CODE_ARGUMENT, CODE_TOOL, FINAL_PREFIX, Piece, Text, ToolCall, seed_reply, text_of,
)

__all__ = ["BUBBLE_OUTPUT", "BUBBLE_SORT", "FINAL_PREFIX", "RUN_CODE", "FakeModel", "fake_reply"]

RUN_CODE = "RUN-CODE:"
WAIT = "WAIT-SECONDS:"


def fake_reply(messages: Sequence[Mapping[str, Any]], tools: Sequence[str] = ()) -> Iterator[Piece]:
    last = messages[-1] if messages else {}
    user_text = text_of(last.get("content")) if last.get("role") == "user" else ""
    if RUN_CODE in user_text:
        code = user_text.split(RUN_CODE, 1)[1]
        yield ToolCall(id="call_run", name=CODE_TOOL, arguments=json.dumps({CODE_ARGUMENT: code}))
        return
    seeded = seed_reply(messages, tools)
    if seeded is not None:
        yield from seeded
        return
    if WAIT in user_text:
        seconds = float(user_text.split(WAIT, 1)[1].split()[0])
        for i in range(int(seconds * 5)):
            yield Text(f"tick{i} ")
            time.sleep(0.2)
        return
    if "slowly" in text_of(messages[-1].get("content")).lower():
        for i in range(300):
            yield Text(f"tick{i} ")
            time.sleep(0.2)
        return
    seen = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    yield Text("echo: " + " | ".join(seen))


class FakeModel(StandInModelServer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        super().__init__(host, port, script=fake_reply, model_name="fake", on_request=self.requests.append)


if __name__ == "__main__":  # used by agent-image/bench
    with FakeModel(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0) as fm:
        print(fm.base_url, flush=True)
        threading.Event().wait()
