"""Run inside an agent's container (bench/warm_pool.py --burst: kubectl exec -i … python -c "<this
file>" N): N claims at once, as the agent makes them (its manager URL, token and sandbox type from
its environment, the Service it calls, no port-forward), each running code in its sandbox. Prints
one JSON line: per claim the sandbox id, the claim's and the code run's seconds, or the error.
Holds the sandboxes until a line (or the end) on stdin, so the caller can watch the pool refill
beside them, then releases them."""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from agentscope_runtime.sandbox import BaseSandboxAsync
from agentscope_runtime.sandbox.enums import SandboxType

PROBE = "print('sandbox ready')"  # the code every claim runs (also bench/warm_pool.py's)


async def claim(url: str, token: str, sandbox_type: str) -> tuple[BaseSandboxAsync | None, dict[str, Any]]:
    # The type named, as the agent names it (friday/tools.py): BaseSandboxAsync's own default is
    # another type (base_async), which no pool holds.
    box = BaseSandboxAsync(base_url=url, bearer_token=token, sandbox_type=SandboxType(sandbox_type))
    started, claimed = time.perf_counter(), 0.0
    try:
        await box.start_async()
        claimed = time.perf_counter()
        result = await box.call_tool_async("run_ipython_cell", {"code": PROBE})
        done = time.perf_counter()
    except Exception as error:  # reported to the caller, which counts it as a failure
        if not claimed:
            return None, {"error": repr(error)}
        return box, {"id": box.sandbox_id, "error": repr(error)}  # claimed: released with the others
    if "sandbox ready" not in json.dumps(result):
        return box, {"id": box.sandbox_id, "error": f"the code did not run: {result}"}
    return box, {"id": box.sandbox_id, "claim_s": claimed - started, "run_s": done - claimed}


async def release(box: BaseSandboxAsync) -> None:
    """Gives the sandbox back and closes both of its manager clients (also bench/warm_pool.py's)."""
    try:
        await box.close_async()
    finally:
        await box.manager_api.httpx_client.aclose()
        box.manager_api.http_session.close()


async def main(count: int, sandbox_type: str) -> None:
    import one_ssl_context  # the agent's (agent-image/one_ssl_context), importable in its container
    from agentscope_runtime.sandbox.manager import sandbox_manager

    one_ssl_context.install(sandbox_manager)  # as friday/tools.py does before its claims
    url, token = os.environ["SANDBOX_MANAGER_URL"], os.environ["SANDBOX_MANAGER_TOKEN"]
    results = await asyncio.gather(*(claim(url, token, sandbox_type) for _ in range(count)))
    print(json.dumps([r[1] for r in results]), flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    await asyncio.gather(*(release(box) for box, _ in results if box is not None), return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), os.environ["SANDBOX_TYPE"]))
