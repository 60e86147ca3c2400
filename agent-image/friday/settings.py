"""Configuration from the environment (the contract is in agent-image/README.md)."""
from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    # Empty variables count as unset so a blank Secret key does not enable a feature.
    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore")

    agent_name: str = "Friday"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=1, le=65535)

    model_provider: Literal["dashscope", "openai"] = "dashscope"
    model_name: str = "qwen-turbo"
    model_base_url: str | None = None
    # DASHSCOPE_API_KEY is what the seed article and DashScope's SDK use.
    model_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("MODEL_API_KEY", "DASHSCOPE_API_KEY"),
    )

    agent_api_token: SecretStr | None = None
    auth_disabled: bool = False

    sandbox_manager_url: str | None = None
    sandbox_manager_token: SecretStr | None = None
    sandbox_type: str = "base"
    allow_local_code_execution: bool = False
    # Limits of one local code run (ALLOW_LOCAL_CODE_EXECUTION only).
    local_code_timeout_seconds: int = Field(60, ge=1)
    local_code_cpu_seconds: int = Field(30, ge=1)
    local_code_memory_mb: int = Field(512, ge=64)
    # Processes and threads one run may add (RLIMIT_NPROC over what the uid runs at its start).
    local_code_max_processes: int = Field(64, ge=1, le=4096)

    redis_url: str | None = None
    redis_password: SecretStr | None = None
    # Sliding expiry of a session's saved state; 0 keeps it forever.
    session_ttl_seconds: int = Field(7 * 24 * 3600, ge=0)

    max_request_bytes: int = Field(1_048_576, ge=1024)
    # A running turn holds its session for this long and renews it every third:
    # a turn whose process died frees the session within one lease.
    turn_lease_seconds: int = Field(30, ge=3)
    # On SIGTERM: how long open turns may go on before they are stopped and saved.
    shutdown_drain_seconds: int = Field(30, ge=0)

    # Turns this process runs at once; past it /process answers 429 (admission.py). Redis
    # connection pools are sized to it. The stack sets it from the pod's size.
    max_concurrent_turns: int = Field(64, ge=1, le=10_000)
    # A client must send its request line and headers, then its body, within these (server.py).
    request_header_timeout_seconds: float = Field(10, gt=0)
    request_body_timeout_seconds: float = Field(30, gt=0)
    # Open connections (and requests in progress) past which uvicorn answers 503; default
    # twice the turn limit plus room for /stop and probes.
    request_max_connections: int | None = Field(None, ge=2)

    # The A2A JSON-RPC URL the agent card advertises: where callers reach POST /a2a (the stack sets
    # the agent's Service, i.e. the gateway). Default: this process on 127.0.0.1.
    a2a_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/\S*)?/a2a$")

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if not self.auth_disabled and not self.agent_api_token:
            raise ValueError(
                "AGENT_API_TOKEN is required (set AUTH_DISABLED=true only for local use)",
            )
        if self.request_max_connections is not None and self.request_max_connections <= self.max_concurrent_turns:
            raise ValueError("REQUEST_MAX_CONNECTIONS must exceed MAX_CONCURRENT_TURNS (each turn holds a connection)")
        if self.model_provider == "openai" and not self.model_base_url:
            raise ValueError("MODEL_BASE_URL is required when MODEL_PROVIDER=openai")
        return self

    @property
    def max_connections(self) -> int:
        return self.request_max_connections or 2 * self.max_concurrent_turns + 64

    @property
    def code_execution(self) -> Literal["sandbox", "local", "off"]:
        if self.sandbox_manager_url:
            return "sandbox"
        return "local" if self.allow_local_code_execution else "off"
