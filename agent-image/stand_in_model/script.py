"""The scripted conversation: which answer a list of chat messages gets."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The agent's tool (agent-image/friday/tools.py registers `execute_python_code(code)`;
# its name and parameter are what the model sees in the request's `tools`).
CODE_TOOL = "execute_python_code"
CODE_ARGUMENT = "code"
# An AgentScope 2.x agent has no code tool; it runs programs with its workspace's shell tool
# (agentscope/tool/_builtin/_bash.py: name "Bash", required parameter "command").
SHELL_TOOL = "Bash"
SHELL_ARGUMENT = "command"

BUBBLE_SORT = """\
def bubble_sort(items):
    items = list(items)
    for i in range(len(items)):
        for j in range(len(items) - 1 - i):
            if items[j] > items[j + 1]:
                items[j], items[j + 1] = items[j + 1], items[j]
    return items

print("sorted:", bubble_sort([64, 34, 25, 12, 22, 11, 90]))
"""
BUBBLE_OUTPUT = "sorted: [11, 12, 22, 25, 34, 64, 90]"
FINAL_PREFIX = "Done. The program printed: "
STAND_IN_ANSWER = (
    "I am the stand-in model of the local demo: scripted answers, not a language model. "
    "Ask me for a bubble sort (冒泡排序) and I will write one and run it with the code tool."
)
# The seed's request is Chinese ("请帮我使用python生成一段冒泡排序算法,并执行").
BUBBLE_WORDS = ("bubble", "冒泡")


@dataclass(frozen=True)
class Text:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    """A call of one tool; `arguments` is JSON text, as the API carries it."""

    id: str
    name: str
    arguments: str


Piece = Text | ToolCall
# A script turns the request's messages (and the names of the tools it offers) into the answer's
# pieces; a streamed answer sends each piece as it is produced.
Script = Callable[[Sequence[Mapping[str, Any]], Sequence[str]], Iterable[Piece]]


def tool_names(tools: object) -> list[str]:
    """The function names of a request's `tools` (OpenAI's `[{"type": "function", "function": {"name": ...}}]`)."""
    if not isinstance(tools, list):
        return []
    functions = (t.get("function") for t in tools if isinstance(t, Mapping))
    return [f["name"] for f in functions if isinstance(f, Mapping) and isinstance(f.get("name"), str)]


def text_of(content: object) -> str:
    """The text of a message's content: a string, or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def asks_for_bubble_sort(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in BUBBLE_WORDS)


def run_bubble_sort(tools: Sequence[str]) -> ToolCall:
    """The call that runs BUBBLE_SORT: the code tool, or python3 through the shell tool when that is
    all the agent offers (BUBBLE_SORT holds no single quote)."""
    if SHELL_TOOL in tools and CODE_TOOL not in tools:
        arguments = json.dumps({SHELL_ARGUMENT: "python3 -c '" + BUBBLE_SORT + "'"})
        return ToolCall(id="call_bubble_sort", name=SHELL_TOOL, arguments=arguments)
    return ToolCall(id="call_bubble_sort", name=CODE_TOOL, arguments=json.dumps({CODE_ARGUMENT: BUBBLE_SORT}))


def seed_reply(messages: Sequence[Mapping[str, Any]], tools: Sequence[str] = ()) -> list[Piece] | None:
    """The seed demo's two steps, or None when the turn is not part of it."""
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return [Text(FINAL_PREFIX + text_of(last.get("content")))]
    if any(asks_for_bubble_sort(text_of(m.get("content"))) for m in this_turns_user_messages(messages)):
        return [run_bubble_sort(tools)]
    return None


def this_turns_user_messages(messages: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The user messages after the last assistant or tool message: the request, and what the agent
    appends to it in the user's role (AgentScope 2.x adds a `<system-reminder>` message)."""
    turn: list[Mapping[str, Any]] = []
    for m in reversed(messages):
        if m.get("role") != "user":
            break
        turn.append(m)
    return turn


REMEMBERED_PREFIX = "Earlier in this conversation the program printed: "


def remembered_output(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """The last tool output in the history the model was sent, if any: a later turn quotes it, so
    a person (or a test) can see that the agent kept the session's history."""
    outputs = [text_of(m.get("content")) for m in messages if m.get("role") == "tool"]
    return outputs[-1] if outputs else None


def reply(messages: Sequence[Mapping[str, Any]], tools: Sequence[str] = ()) -> list[Piece]:
    """The stand-in's whole script: the seed demo; else a sentence saying what it is, quoting the
    program's output when an earlier turn of the conversation ran one."""
    seeded = seed_reply(messages, tools)
    if seeded is not None:
        return seeded
    earlier = remembered_output(messages)
    return [Text(STAND_IN_ANSWER + (" " + REMEMBERED_PREFIX + earlier if earlier else ""))]
