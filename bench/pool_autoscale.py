"""The autoscaler's reaction, claims per minute -> warm target, on a simulated clock.

Drives agent-image/sandbox_manager_ext/autoscale.py's Scaler (the rule the manager runs) with
claims at a steady rate for `--minutes`, then none, and reports per rate: the target it settles
at, how long after the rate began the target first reached that value, and how long after the
claims stopped it came back to `min`. The refill time is an input (`--refill`, seconds; the
manager uses its moving average of measured creates): the cold create measured on the embedded
node. Seconds are simulated; nothing here is timed. Usage:
  python bench/pool_autoscale.py [--refill 3.0] [--min 2] [--max 20] [--headroom 1] [--scale-down 300]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "agent-image"))

from sandbox_manager_ext.autoscale import Bounds, Scaler  # noqa: E402

STEP_S = 0.5


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def react(per_minute: float, args: argparse.Namespace) -> tuple[int, float, float]:
    clock = Clock()
    scaler = Scaler(Bounds(args.min, args.max, args.headroom), args.scale_down, 60.0, clock)
    for _ in range(20):  # the refill time as the manager's moving average has it after some creates
        scaler.created(args.refill)
    gap, next_claim, end = 60.0 / per_minute, 0.0, args.minutes * 60.0
    history: list[tuple[float, int]] = []
    while clock.now < end + args.scale_down + 120:
        while clock.now < end and next_claim <= clock.now:
            scaler.claimed()
            next_claim += gap
        history.append((clock.now, scaler.target()))
        clock.now += STEP_S
    settled = max(t for now, t in history if now < end)
    reached = next(now for now, t in history if t == settled)
    back = next((now - end for now, t in history if now >= end and t == args.min), float("nan"))
    return settled, reached, back


def burst(n: int, args: argparse.Namespace) -> tuple[int, float]:
    """`n` claims at one instant: the target right after, and when it is back at min."""
    clock = Clock()
    scaler = Scaler(Bounds(args.min, args.max, args.headroom), args.scale_down, 60.0, clock)
    for _ in range(20):
        scaler.created(args.refill)
    for _ in range(n):
        scaler.claimed()
    after = scaler.target()
    while scaler.target() != args.min and clock.now < 3600:
        clock.now += STEP_S
    return after, clock.now


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--refill", type=float, default=3.0, help="seconds one create takes (the cold create)")
    ap.add_argument("--min", type=int, default=2)
    ap.add_argument("--max", type=int, default=20)
    ap.add_argument("--headroom", type=int, default=1)
    ap.add_argument("--scale-down", type=float, default=300.0, help="scaleDownAfterSeconds")
    ap.add_argument("--minutes", type=float, default=5.0, help="how long the claims go on")
    ap.add_argument("--rates", default="6,15,30,60,120,300,600", help="claims per minute, comma-separated")
    ap.add_argument("--burst", type=int, default=20, help="claims at one instant")
    args = ap.parse_args()
    print(f"min {args.min}, max {args.max}, headroom {args.headroom}, refill {args.refill:g} s, "
          f"scaleDownAfterSeconds {args.scale_down:g}, window 60 s")
    print("| claims/min | warm target | target reached after | back at min after the claims stop |")
    print("| --- | --- | --- | --- |")
    for rate in (float(r) for r in args.rates.split(",")):
        settled, reached, back = react(rate, args)
        print(f"| {rate:g} | {settled} | {reached:.1f} s | {back:.0f} s |")
    after, back = burst(args.burst, args)
    print(f"a burst of {args.burst} claims at once: warm target {after} right after, back at min after {back:.0f} s")


if __name__ == "__main__":
    main()
