"""python -m workspace_reaper --namespace NS --agent NAME --retain-days N [--dry-run]

Lists the agent's workspace claims in NS (label selector), deletes the expired ones (reaper.py),
and prints one line per claim and the figures (Prometheus text format) to stdout. Exit 0 when
every delete it decided on went through or was overtaken (404, 409), 1 otherwise."""
from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, TextIO

from .reaper import Claim, judge, metrics_text, quantity_bytes, selector


class PvcApi(Protocol):
    async def list_namespaced_persistent_volume_claim(self, namespace: str, **kwargs: Any) -> Any: ...
    async def delete_namespaced_persistent_volume_claim(self, name: str, namespace: str, **kwargs: Any) -> Any: ...


def to_claim(item: Any) -> Claim:
    meta, spec = item.metadata, item.spec
    requested = ((spec.resources.requests or {}) if spec and spec.resources else {}).get("storage", "0")
    return Claim(
        name=meta.name, uid=meta.uid, resource_version=meta.resource_version,
        labels=dict(meta.labels or {}), annotations=dict(meta.annotations or {}),
        created=meta.creation_timestamp, size_bytes=quantity_bytes(requested),
        deleting=meta.deletion_timestamp is not None,
    )


async def reap(api: PvcApi, namespace: str, agent: str, retain_days: int, dry_run: bool, out: TextIO,
               now: datetime | None = None) -> bool:
    listed = await api.list_namespaced_persistent_volume_claim(namespace, label_selector=selector(agent))
    claims = [to_claim(i) for i in listed.items]
    ok, deleted = True, 0
    for v in judge(claims, agent, now or datetime.now(timezone.utc), timedelta(days=retain_days)):
        if not v.delete:
            print(f"keep {v.claim.name}: {v.reason}", file=out)
            continue
        if dry_run:
            print(f"would delete {v.claim.name}: {v.reason}", file=out)
            deleted += 1
            continue
        try:
            await api.delete_namespaced_persistent_volume_claim(
                v.claim.name, namespace,
                body={"preconditions": {"uid": v.claim.uid, "resourceVersion": v.claim.resource_version}})
            print(f"deleted {v.claim.name}: {v.reason}", file=out)
            deleted += 1
        except Exception as e:  # noqa: BLE001 - judged per status below
            status = getattr(e, "status", None)
            if status in (404, 409):  # gone meanwhile, or touched since the list: not ours to delete now
                print(f"left {v.claim.name}: changed since listed ({status})", file=out)
            else:
                print(f"failed {v.claim.name}: {e}", file=out)
                ok = False
    out.write(metrics_text(agent, claims, deleted, dry_run))
    return ok


async def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="workspace_reaper")
    p.add_argument("--namespace", required=True)
    p.add_argument("--agent", required=True)
    p.add_argument("--retain-days", type=int, required=True)
    p.add_argument("--dry-run", action="store_true")
    a = p.parse_args(argv)
    if a.retain_days < 1:
        p.error("--retain-days must be at least 1")
    from kubernetes_asyncio import client, config

    config.load_incluster_config()
    async with client.ApiClient() as api:
        ok = await reap(client.CoreV1Api(api), a.namespace, a.agent, a.retain_days, a.dry_run, sys.stdout)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
