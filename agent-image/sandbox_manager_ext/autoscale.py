"""How many warm sandboxes each type keeps: a pure rule and a stateful scaler around it.

Per type: `min` and `max` bound the warm pool; `headroom` is the warm sandboxes kept beyond what
the claim rate will take while a refill is under way. The rate is the claims the manager counted
over the last `window_s`; the refill time is the measured create time. The target goes up at once
and down only after `scale_down_after_s` without a reason to stay up (scale-down after an idle
period). Settings come as JSON in AGENTSCOPE_POOL_AUTOSCALING, rendered by the SandboxPool component."""
from __future__ import annotations

import json
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

ENV = "AGENTSCOPE_POOL_AUTOSCALING"
DEFAULT_REFILL_S = 5.0


@dataclass(frozen=True)
class Bounds:
    minimum: int
    maximum: int
    headroom: int

    def __post_init__(self) -> None:
        if not 0 <= self.minimum <= self.maximum or self.headroom < 0:
            raise ValueError(f"pool bounds need 0 <= min <= max and headroom >= 0, got {self}")


@dataclass(frozen=True)
class Policy:
    bounds: dict[str, Bounds]
    scale_down_after_s: float = 300.0
    window_s: float = 60.0


def parse_policy(text: str | None, types: Iterable[str], pool_size: int) -> Policy:
    """The policy for `types`; a type the JSON does not name keeps `pool_size` warm (min = max)."""
    fixed = Bounds(pool_size, pool_size, 0)
    if not text:
        return Policy({t: fixed for t in types})
    raw = json.loads(text)
    per_type = raw.get("types", {})
    unknown = set(per_type) - set(types)
    if unknown:
        raise ValueError(f"{ENV} names sandbox types the manager does not pool: {sorted(unknown)}")
    bounds = {t: Bounds(int(per_type[t]["min"]), int(per_type[t]["max"]), int(per_type[t].get("headroom", 0)))
              if t in per_type else fixed for t in types}
    return Policy(bounds, float(raw.get("scaleDownAfterSeconds", 300)), float(raw.get("windowSeconds", 60)))


def desired_warm(bounds: Bounds, claims_per_s: float, refill_s: float) -> int:
    """Warm sandboxes to hold: what claims take during one refill, plus the headroom, in bounds."""
    wanted = math.ceil(claims_per_s * refill_s - 1e-9) + bounds.headroom
    return max(bounds.minimum, min(bounds.maximum, wanted))


class Scaler:
    """The target of one sandbox type, from the claims it is told about, on `clock` (seconds).
    Thread-safe: claims arrive on the server's worker threads, the controller and the metrics
    poller read the target on theirs."""

    def __init__(self, bounds: Bounds, scale_down_after_s: float, window_s: float, clock: Callable[[], float]) -> None:
        self.bounds, self.scale_down_after_s, self.window_s, self.clock = bounds, scale_down_after_s, window_s, clock
        self._claims: deque[float] = deque()
        self._refill_s = DEFAULT_REFILL_S
        self._target = bounds.minimum
        self._held_since = clock()
        self._lock = threading.Lock()

    def claimed(self) -> None:
        with self._lock:
            self._claims.append(self.clock())

    def created(self, seconds: float) -> None:
        """A create took `seconds`: the refill time follows it (moving average)."""
        with self._lock:
            self._refill_s = 0.7 * self._refill_s + 0.3 * seconds

    @property
    def refill_s(self) -> float:
        return self._refill_s

    def claims_per_s(self) -> float:
        with self._lock:
            return self._rate(self.clock())

    def _rate(self, now: float) -> float:
        while self._claims and self._claims[0] <= now - self.window_s:
            self._claims.popleft()
        return len(self._claims) / self.window_s

    def target(self) -> int:
        with self._lock:
            now = self.clock()
            desired = desired_warm(self.bounds, self._rate(now), self._refill_s)
            if desired >= self._target or now - self._held_since >= self.scale_down_after_s:
                self._target, self._held_since = desired, now
            return self._target
