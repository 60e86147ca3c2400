"""The agent's metrics (names from the observability contract) and the `agent.turn` span.

Metrics are counted whether or not anything scrapes them (METRICS_PORT only opens the listener);
the span exists only when tracing is configured (observability.tracing.setup)."""
from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

from opentelemetry import context, trace
from prometheus_client import Counter, Gauge, Histogram

from observability.tracing import tracer

TURNS = Counter("agentscope_agent_turns_total", "Turns served, by how they ended (ok | error).",
                ["agent", "outcome"])
TURN_SECONDS = Histogram("agentscope_agent_turn_duration_seconds", "Wall time of a turn.", ["agent"],
                         buckets=(0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300))
ACTIVE = Gauge("agentscope_agent_active_sessions", "Sessions with a turn running in this process.", ["agent"])
TOKENS = Counter("agentscope_model_tokens_total", "Model tokens, as the model reports them.",
                 ["agent", "model", "kind"])
MODEL_SECONDS = Histogram("agentscope_model_call_duration_seconds", "Wall time of a model call, stream included.",
                          ["model"], buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120))


def track_active_sessions(agent: str, count: Callable[[], int]) -> None:
    ACTIVE.labels(agent=agent).set_function(lambda: float(count()))


class Turn:
    """One turn's span and measurements. The span is made current only around the creation of
    the turn's worker task (which copies the context), never across a generator's yields."""

    def __init__(self, agent: str, session_id: str | None) -> None:
        self.agent = agent
        self.started = time.perf_counter()
        attributes = {"agentscope.agent.name": agent}
        if session_id:
            attributes["agentscope.session.id"] = session_id
        # Parent: the current context, the caller's (friday.guard attaches it per request).
        self.span = tracer().start_span("agent.turn", kind=trace.SpanKind.SERVER,
                                        attributes=attributes)

    def run(self, start: Callable[[], Any]) -> Any:
        token = context.attach(trace.set_span_in_context(self.span))
        try:
            return start()
        finally:
            context.detach(token)

    def end(self, ok: bool, status: str) -> None:
        outcome = "ok" if ok else "error"
        TURNS.labels(agent=self.agent, outcome=outcome).inc()
        TURN_SECONDS.labels(agent=self.agent).observe(time.perf_counter() - self.started)
        self.span.set_attribute("agentscope.turn.status", status)
        if not ok:
            self.span.set_status(trace.StatusCode.ERROR)
        self.span.end()


def _record_usage(agent: str, model: str, response: Any) -> None:
    usage = getattr(response, "usage", None)
    if usage is None:
        return
    TOKENS.labels(agent=agent, model=model, kind="prompt").inc(getattr(usage, "input_tokens", 0) or 0)
    TOKENS.labels(agent=agent, model=model, kind="completion").inc(getattr(usage, "output_tokens", 0) or 0)


def meter_model(model: Any, agent: str, model_name: str) -> Any:
    """Counts tokens and times each call of an AgentScope chat model (streamed or not), by
    swapping in a subclass whose __call__ wraps the traced one."""
    base = type(model)

    class Metered(base):  # type: ignore[misc, valid-type]
        async def __call__(self, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = await super().__call__(*args, **kwargs)
            if not isinstance(result, AsyncGenerator):
                MODEL_SECONDS.labels(model=model_name).observe(time.perf_counter() - started)
                _record_usage(agent, model_name, result)
                return result
            return _metered_stream(result, started, agent, model_name)

    Metered.__name__ = Metered.__qualname__ = base.__name__
    model.__class__ = Metered
    return model


async def _metered_stream(stream: AsyncGenerator[Any, None], started: float, agent: str,
                          model_name: str) -> AsyncGenerator[Any, None]:
    last = None
    try:
        async for chunk in stream:
            last = chunk
            yield chunk
    finally:
        MODEL_SECONDS.labels(model=model_name).observe(time.perf_counter() - started)
        _record_usage(agent, model_name, last)
