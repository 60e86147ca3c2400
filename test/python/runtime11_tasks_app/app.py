"""A user's AgentApp on agentscope-runtime 1.1.x with the seed's two kinds of task: a
generator on its own queue and an async generator on the default one. It names no broker:
agent_launcher gives it the stack's Redis (AGENT_TASKS=celery)."""
import asyncio
import time

from agentscope_runtime.engine.app import AgentApp

agent_app = AgentApp(app_name="Tasks11", app_description="1.1.x tasks on Celery")


@agent_app.task("/task", queue="celery1")
def task_handler(request: dict):
    time.sleep(2)
    yield {"status": "ok", "payload": request}


@agent_app.task("/atask")
async def atask_handler(request: dict):
    await asyncio.sleep(1)
    yield {"status": "ok", "payload": request}
