"""The stand-in model: an OpenAI-compatible chat endpoint with scripted answers.

Not a language model. It lets the local stack's demo run with no model API key
and no internet: asked for a bubble sort it makes one call to the agent's
code-execution tool (or runs python3 through the shell tool of an agent that has
only that, as AgentScope 2.x agents do), given the tool's output it quotes it, and anything else
gets a fixed sentence saying what it is (quoting the program's output when an
earlier turn of the conversation ran one). `python -m stand_in_model` serves it.
"""
from .script import (
    BUBBLE_OUTPUT,
    BUBBLE_SORT,
    CODE_ARGUMENT,
    CODE_TOOL,
    FINAL_PREFIX,
    REMEMBERED_PREFIX,
    SHELL_ARGUMENT,
    SHELL_TOOL,
    STAND_IN_ANSWER,
    Piece,
    Script,
    Text,
    ToolCall,
    reply,
    seed_reply,
    tool_names,
)
from .server import MODEL_NAME, StandInModelServer

__all__ = [
    "BUBBLE_OUTPUT",
    "BUBBLE_SORT",
    "CODE_ARGUMENT",
    "CODE_TOOL",
    "FINAL_PREFIX",
    "MODEL_NAME",
    "REMEMBERED_PREFIX",
    "SHELL_ARGUMENT",
    "SHELL_TOOL",
    "STAND_IN_ANSWER",
    "Piece",
    "Script",
    "StandInModelServer",
    "Text",
    "ToolCall",
    "reply",
    "seed_reply",
    "tool_names",
]
