"""Model credentials whose key lives only in this process, never in the app's storage.

AgentScope 2.x keeps credential records in its storage (Redis here) and writes every SecretStr
field of a credential in clear text there (agentscope/app/storage/_utils.py, `_dump_with_secrets`,
used by RedisStorage.upsert_credential). These classes have no key field at all: the stored record
is `{"id", "name", "type"}`, and the key and base URL are read from this process's memory (set
once at start-up from the Kubernetes Secret's env) whenever the app builds a model
(agentscope/app/_service/_model.py, `get_model`). The model classes read only `api_key`,
`base_url` and `organization` from their credential (agentscope/model/_openai_chat/_model.py,
_dashscope/_model.py), which the properties below provide.

A caller who creates a record of these types over `POST /credential/` gets the platform's model
and key, nothing more: the base URL is not taken from the record, so the key cannot be sent
elsewhere.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from agentscope.credential import CredentialBase
from pydantic import SecretStr

if TYPE_CHECKING:
    from agentscope.model import ChatModelBase


class _Secret:
    api_key: SecretStr | None = None
    base_url: str | None = None


def configure(api_key: str, base_url: str | None) -> None:
    _Secret.api_key = SecretStr(api_key)
    _Secret.base_url = base_url


class _PlatformCredential(CredentialBase):
    @property
    def api_key(self) -> SecretStr:
        if _Secret.api_key is None:
            raise RuntimeError("the platform model key is not configured")
        return _Secret.api_key

    @property
    def organization(self) -> str | None:
        return None


class PlatformOpenAICredential(_PlatformCredential):
    """An OpenAI-compatible endpoint (MODEL_PROVIDER=openai)."""

    type: Literal["platform_openai_credential"] = "platform_openai_credential"

    @property
    def base_url(self) -> str | None:
        return _Secret.base_url

    @classmethod
    def get_chat_model_class(cls) -> type[ChatModelBase]:
        from agentscope.model import OpenAIChatModel

        return OpenAIChatModel


class PlatformDashScopeCredential(_PlatformCredential):
    """DashScope (MODEL_PROVIDER=dashscope); its compatible-mode URL unless MODEL_BASE_URL is set."""

    type: Literal["platform_dashscope_credential"] = "platform_dashscope_credential"

    @property
    def base_url(self) -> str:
        # agentscope/credential/_dashscope.py's default.
        return _Secret.base_url or "https://dashscope.aliyuncs.com/compatible-mode/v1"

    @classmethod
    def get_chat_model_class(cls) -> type[ChatModelBase]:
        from agentscope.model import DashScopeChatModel

        return DashScopeChatModel


BY_PROVIDER: dict[str, type[_PlatformCredential]] = {
    "openai": PlatformOpenAICredential,
    "dashscope": PlatformDashScopeCredential,
}
