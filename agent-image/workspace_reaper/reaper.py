"""Which workspace claims to delete, and the figures of what is held.

A claim qualifies only if it carries the workspace labels (`SELECTOR`, sent to the API server as
the list's label selector and checked again here): claims without them are never considered. Of
those, a claim is deleted when
- its warm-pool state is `released` (a warm workspace nobody claimed, disposed of), or
- its last use (annotation `agentscope.io/last-used`, written by the agent when the workspace
  starts, every hour while it lives and when it closes; else its creation time) is older than
  the retention.
A claim already being deleted is left alone. Each delete is conditional on the claim's UID and
resourceVersion: a claim the agent touched after the list (a user came back) is not deleted.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

WORKSPACE_NAME = "agentscope-workspace"
NAME_LABEL = "app.kubernetes.io/name"
AGENT_LABEL = "agentscope.io/agent"
POOL_LABEL = "agentscope.io/workspace-pool"
LAST_USED_ANNOTATION = "agentscope.io/last-used"


def selector(agent: str) -> str:
    """The list's label selector: one agent's workspace claims."""
    return f"{NAME_LABEL}={WORKSPACE_NAME},{AGENT_LABEL}={agent}"


@dataclass(frozen=True)
class Claim:
    name: str
    uid: str
    resource_version: str
    labels: dict[str, str]
    created: datetime
    size_bytes: int
    annotations: dict[str, str] = field(default_factory=dict)
    deleting: bool = False

    def last_used(self) -> datetime:
        stamp = self.annotations.get(LAST_USED_ANNOTATION)
        if stamp:
            try:
                return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            except ValueError:
                pass  # an unreadable stamp: fall back to the creation time
        return self.created


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    delete: bool
    reason: str


def judge(claims: Iterable[Claim], agent: str, now: datetime, retain: timedelta) -> list[Verdict]:
    out = []
    for c in claims:
        if c.labels.get(NAME_LABEL) != WORKSPACE_NAME or c.labels.get(AGENT_LABEL) != agent:
            out.append(Verdict(c, False, "not this agent's workspace claim"))
        elif c.deleting:
            out.append(Verdict(c, False, "already being deleted"))
        elif c.labels.get(POOL_LABEL) == "released":
            out.append(Verdict(c, True, "warm workspace released unclaimed"))
        elif now - c.last_used() > retain:
            out.append(Verdict(c, True, f"unused since {c.last_used().isoformat()}"))
        else:
            out.append(Verdict(c, False, f"used {c.last_used().isoformat()}, within {retain.days} days"))
    return out


_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([KMGTPE]i?|[kmu]?)$")
_FACTORS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
            "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def quantity_bytes(text: str) -> int:
    """A storage quantity (`20Gi`, `1G`, `500M`) in bytes (Kubernetes resource.Quantity suffixes)."""
    m = _QUANTITY.match(text.strip())
    if not m or m.group(2) not in _FACTORS:
        raise ValueError(f"not a storage quantity: {text!r}")
    return int(float(m.group(1)) * _FACTORS[m.group(2)])


def metrics_text(agent: str, claims: Iterable[Claim], deleted: int, dry_run: bool) -> str:
    """The run's figures in the Prometheus text format (what the CronJob's log carries)."""
    held: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in claims:
        state = c.labels.get(POOL_LABEL, "cold")
        held[state][0] += 1
        held[state][1] += c.size_bytes
    a = f'agent="{agent}"'
    lines = [
        "# HELP agentscope_workspace_claims Workspace claims of the agent, by warm-pool state (cold: not from the pool).",
        "# TYPE agentscope_workspace_claims gauge",
        *(f'agentscope_workspace_claims{{{a},pool="{s}"}} {n}' for s, (n, _) in sorted(held.items())),
        "# HELP agentscope_workspace_claim_bytes Storage the agent's workspace claims request.",
        "# TYPE agentscope_workspace_claim_bytes gauge",
        *(f'agentscope_workspace_claim_bytes{{{a},pool="{s}"}} {b}' for s, (_, b) in sorted(held.items())),
        "# HELP agentscope_workspace_claims_reaped Claims this run deleted (or, dry run, would delete).",
        "# TYPE agentscope_workspace_claims_reaped gauge",
        f'agentscope_workspace_claims_reaped{{{a},dry_run="{str(dry_run).lower()}"}} {deleted}',
    ]
    return "\n".join(lines) + "\n"
