"""One settings class for the whole bot: environment variables and a `.env` file.

Every field is documented in config/example.env; a bad value stops start-up with one line that names
the variable (never its value, which may be a secret).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ROUTER_URL = "https://router.huggingface.co/v1"


class ConfigError(SystemExit):
    """Raised with a one-line message naming the variable at fault."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    # The router (any OpenAI-compatible endpoint)
    hf_token: SecretStr | None = Field(None, description="Hugging Face token for the router")
    hf_router_url: str = Field(DEFAULT_ROUTER_URL, description="OpenAI-compatible base URL")
    default_model: str = Field("openai/gpt-oss-120b", description="model used when nobody chose one")
    request_timeout: float = Field(30.0, gt=0, description="seconds to connect and get the first byte")
    idle_timeout: float = Field(60.0, gt=0, description="seconds allowed between two streamed tokens")
    max_tokens: int = Field(2048, ge=16, le=1_000_000, description="max_tokens sent with every request")
    models_refresh_seconds: float = Field(600.0, ge=10, description="how often the model list refreshes")
    model_overrides_file: Path | None = Field(
        Path("config/models.json"), description="curated facts the router does not report"
    )
    # Each person's own Hugging Face account (/account): their token pays for their answers
    accounts_key: SecretStr | None = Field(
        None,
        description="Fernet key(s) encrypting people's tokens, comma-separated (newest first); unset: /account is off",
    )
    hf_hub_url: str = Field("https://huggingface.co", description="the Hub: whoami and OAuth (a test double in tests)")
    # "Sign in with Hugging Face" (an OAuth app on huggingface.co); its redirect is served by the bot's HTTP endpoint
    hf_oauth_client_id: str | None = Field(None, description="the Hugging Face OAuth app's client id")
    hf_oauth_client_secret: SecretStr | None = Field(None, description="the Hugging Face OAuth app's client secret")
    hf_oauth_redirect_url: str | None = Field(
        None, description="public URL of the bot's sign-in callback, e.g. https://bot.example.com/hf/oauth/callback"
    )
    # Voice messages: transcribed by a speech-recognition model, then answered as text
    speech_model: str = Field("openai/whisper-large-v3-turbo", description="speech recognition model (hf-inference)")
    speech_url: str | None = Field(
        None, description="speech endpoint; default: the router's hf-inference route for SPEECH_MODEL (local: yours)"
    )
    voice_max_seconds: float = Field(60.0, gt=0, description="longest voice message transcribed, in seconds")
    voice_max_mb: float = Field(25.0, gt=0, description="largest audio file transcribed, in megabytes")

    # Fully local mode: llama.cpp serving a GGUF on 127.0.0.1
    local_mode: Literal["auto", "on", "off"] = Field("auto", description="auto = local model when HF_TOKEN is unset")
    local_model_path: Path | None = Field(None, description="GGUF file; default: SmolLM2-135M-Instruct")
    local_context: int = Field(4096, ge=256, description="context window of the local model")

    # Storage
    database_url: str = Field("sqlite:///data/hfchat.db", description="sqlite:///path or postgresql://...")
    retention_days: float = Field(0, ge=0, description="purge conversations idle this long; 0 = keep")
    retention_check_seconds: float = Field(3600.0, gt=0, description="how often idle conversations are purged")
    data_dir: Path | None = Field(
        None, description="the terminal chat's history, logs and exports; default: the SQLite file's folder, else data"
    )
    database_schema: str | None = Field(
        None, description="PostgreSQL schema for the tables (created if missing); default: the search_path"
    )
    database_async_commit: bool = Field(
        False,
        description="PostgreSQL: an event's claim and a person's message commit without waiting for the disk "
        "(synchronous_commit off for those two writes): a few ms less before each answer's request, but a crash of "
        "the database server (not the bot) within ~0.6 s may lose such a message though it was acknowledged",
    )

    # Several processes on one database, and their lifecycle
    worker_id: str | None = Field(None, description="this process's name among those sharing the database")
    worker_heartbeat_seconds: float = Field(10.0, gt=0, description="how often this process says it is alive")
    worker_stale_seconds: float = Field(60.0, gt=0, description="silence after which a process counts as dead")
    shutdown_grace_seconds: float = Field(10.0, ge=0, description="on SIGTERM, time answers get to finish")
    metrics_port: int | None = Field(None, ge=0, le=65535, description="serve /healthz and /metrics; unset = off")
    metrics_host: str = Field(
        "127.0.0.1", description="address the metrics server listens on; 0.0.0.0 for a scraper on another host"
    )
    redis_url: SecretStr | None = Field(
        None, description="redis://host:6379/0: the platforms' rate budgets shared by every process of the bot"
    )
    redis_namespace: str = Field("hfchat", min_length=1, description="prefix of this bot's keys in Redis")

    # Conversations
    max_prompt_chars: int = Field(16_000, ge=1, description="longest message a user may send")
    system_prompt: str = Field("", description="system prompt added to every conversation")
    auto_titles: bool = Field(True, description="name each conversation after its first answer")
    title_model: str | None = Field(None, description="model that writes titles; default: the conversation's")
    allow_bots: Literal["none", "mentions", "all"] = Field(
        "none", description="other bots' messages: ignored, answered when they mention the bot, or like a person's"
    )
    # Scheduled prompts (/schedule): how often due runs are looked for, the default time zone, the tightest cadence
    schedule_check_seconds: float = Field(20.0, gt=0, description="how often due scheduled prompts are looked for")
    schedule_timezone: str = Field("UTC", description="time zone of schedules that name none, e.g. Europe/Paris")
    schedule_min_interval_minutes: float = Field(60.0, gt=0, description="shortest time between two runs")
    # Memory the person controls (/memory): the most its facts may take of an answer's system prompt
    memory_prompt_tokens: int = Field(
        400, ge=0, le=100_000, description="tokens of a person's memory added to the system prompt (at most)"
    )

    # Omni, the virtual model "omni": one ordered list of models per route, comma-separated
    omni_default_models: str = Field(
        "openai/gpt-oss-120b,meta-llama/Llama-3.3-70B-Instruct,Qwen/Qwen3-32B", description="omni's text route"
    )
    omni_vision_models: str = Field(
        "google/gemma-3-27b-it,Qwen/Qwen2.5-VL-72B-Instruct", description="omni's route for images"
    )
    omni_tools_models: str = Field(
        "openai/gpt-oss-120b,Qwen/Qwen3-32B,meta-llama/Llama-3.3-70B-Instruct", description="omni's route for tools"
    )
    # Failover for a model someone chose: these answer, in order, when it fails before its first token
    fallback_models: str = Field(
        "", description="comma-separated; empty: omni's default route; none: no failover for chosen models"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    event_loop: Literal["auto", "asyncio"] = Field(
        "auto", description="auto: uvloop where it is installed (not on Windows); asyncio: Python's own loop"
    )

    # Tools: web search, page fetching, MCP servers (models that support tools only)
    web_search_provider: Literal["ddgs", "searxng", "tavily", "brave"] = Field(
        "ddgs", description="ddgs needs no key; searxng needs SEARXNG_URL; tavily/brave need their API key"
    )
    searxng_url: str | None = Field(None, description="a SearXNG instance with the JSON format enabled")
    tavily_api_key: SecretStr | None = None
    brave_api_key: SecretStr | None = None
    web_search_results: int = Field(5, ge=1, le=20, description="search results given to the model")
    web_fetch_pages: int = Field(3, ge=0, le=10, description="top results read in full for each search")
    web_fetch_timeout: float = Field(10.0, gt=0, description="seconds for one page, redirects included")
    web_fetch_max_bytes: int = Field(2_000_000, ge=1024, description="largest page body read")
    web_fetch_max_redirects: int = Field(5, ge=0, le=20)
    web_fetch_allow_networks: str = Field(
        "", description="comma-separated CIDRs fetchable although private (an intranet, tests); default none"
    )
    tool_max_rounds: int = Field(4, ge=1, le=20, description="tool rounds before the model must answer")
    tool_call_timeout: float = Field(30.0, gt=0, description="seconds one tool call may take")
    tool_result_chars: int = Field(12_000, ge=500, description="longest tool result sent back to the model")
    mcp_servers: str = Field(
        "", description='JSON list: {"name", "command", "args", "env"} (stdio) or {"name", "url"} (streamable HTTP)'
    )

    # Discord
    discord_token: SecretStr | None = None
    discord_shard_count: int | None = Field(None, ge=1)
    discord_shard_ids: list[int] | None = None
    discord_api_url: str | None = Field(
        None, description="Discord REST base URL, e.g. https://discord.com/api/v10 (a proxy or a test double)"
    )
    discord_gateway_url: str | None = Field(
        None, description="Discord gateway URL, e.g. wss://gateway.discord.gg (a gateway proxy or a test double)"
    )

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_mode: Literal["socket", "http"] = "socket"
    slack_port: int = Field(3000, ge=1, le=65535)
    slack_host: str = Field(
        "0.0.0.0", description="address HTTP mode listens on (Slack must reach it); 127.0.0.1 behind a local proxy"
    )
    slack_api_url: str | None = Field(None, description="Slack Web API base URL; default: Slack's own")
    # OAuth installs into many workspaces (HTTP mode only): with both set, SLACK_BOT_TOKEN is not needed
    slack_client_id: str | None = Field(None, description="the app's Client ID, for OAuth installs")
    slack_client_secret: SecretStr | None = Field(None, description="the app's Client Secret, for OAuth installs")
    slack_scopes: str = Field(
        "app_mentions:read,assistant:write,channels:history,groups:history,im:history,mpim:history,"
        "chat:write,commands,files:read,files:write,users:read,im:write,channels:read,groups:read",
        description="bot scopes asked for at install, comma-separated (config/slack-manifest.yaml's)",
    )
    slack_install_path: str = Field("/slack/install", description="path that starts an install")
    slack_redirect_path: str = Field("/slack/oauth_redirect", description="path of the OAuth redirect URL")
    # conversations.history and .replies for apps distributed outside the Marketplace (since 2025): 1 a minute, 15 items
    slack_history_per_minute: int = Field(1, ge=1, le=100, description="history reads a minute (catch-up)")
    slack_history_items: int = Field(15, ge=1, le=999, description="messages one history read returns (catch-up)")
    # Slack's per-user account connection (2026): the app's manifest has features.user_connections (the Hub's host in
    # auth_hosts) and the users:write scope; Slack then shows each person's Hugging Face connection as its own
    slack_user_connections: bool = Field(False, description="tell Slack who connected (apps.user.connection.update)")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ValueError("expected sqlite:///path/to/file.db or postgresql://user@host/db")
        return value

    @field_validator("hf_router_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s):// URL such as " + DEFAULT_ROUTER_URL)
        return value.rstrip("/")

    @field_validator("discord_api_url", "discord_gateway_url")
    @classmethod
    def _discord_url(cls, value: str | None, info) -> str | None:
        rest = info.field_name == "discord_api_url"
        if value is not None and not value.startswith(("http://", "https://") if rest else ("ws://", "wss://")):
            raise ValueError("expected an http(s):// URL" if rest else "expected a ws(s):// URL")
        return value.rstrip("/") if value else value

    @field_validator("speech_url")
    @classmethod
    def _speech_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s):// URL")
        return value.rstrip("/") if value else value

    @field_validator("schedule_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from core.schedules.spec import zone  # the names the schedules understand

        zone(value)
        return value

    @field_validator("mcp_servers")
    @classmethod
    def _mcp_servers_json(cls, value: str) -> str:
        from core.tools.mcp import parse_servers  # the format lives with the code that uses it

        parse_servers(value)
        return value

    @model_validator(mode="after")
    def _sign_in_configured(self) -> Settings:
        oauth = {
            "HF_OAUTH_CLIENT_ID": self.hf_oauth_client_id,
            "HF_OAUTH_CLIENT_SECRET": self.hf_oauth_client_secret,
            "HF_OAUTH_REDIRECT_URL": self.hf_oauth_redirect_url,
        }
        given = [name for name, value in oauth.items() if value]
        if given and len(given) < len(oauth):
            missing = ", ".join(name for name in oauth if name not in given)
            raise ValueError(f"signing in with Hugging Face needs {missing} too")
        if given and not self.accounts_key:
            raise ValueError("signing in with Hugging Face needs ACCOUNTS_KEY (people's tokens are kept encrypted)")
        if self.hf_oauth_redirect_url and not self.hf_oauth_redirect_url.startswith(("http://", "https://")):
            raise ValueError("HF_OAUTH_REDIRECT_URL: expected the callback's http(s):// URL")
        return self

    @model_validator(mode="after")
    def _search_provider_configured(self) -> Settings:
        needs = {"searxng": "searxng_url", "tavily": "tavily_api_key", "brave": "brave_api_key"}
        field = needs.get(self.web_search_provider)
        if field and not getattr(self, field):
            raise ValueError(f"WEB_SEARCH_PROVIDER={self.web_search_provider} needs {field.upper()}")
        return self

    @field_validator("accounts_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        from core.accounts.sealing import TokenSeal  # the key's format lives with the code that uses it

        if value is not None and value.get_secret_value():
            TokenSeal(value.get_secret_value())
        return value

    @field_validator("hf_hub_url")
    @classmethod
    def _hub_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s):// URL such as https://huggingface.co")
        return value.rstrip("/")

    @field_validator("web_fetch_allow_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        from core.tools.fetch import parse_networks

        parse_networks(value)
        return value

    @property
    def use_local_model(self) -> bool:
        return self.local_mode == "on" or (self.local_mode == "auto" and self.hf_token is None)

    @property
    def data_path(self) -> Path:
        """Where this process keeps files of its own: logs, the terminal's input history, exports."""
        if self.data_dir is not None:
            return self.data_dir
        sqlite = self.sqlite_path
        return sqlite.parent if sqlite is not None and str(sqlite) != ":memory:" else Path("data")

    @property
    def sqlite_path(self) -> Path | None:
        if not self.database_url.startswith("sqlite://"):
            return None
        return Path(self.database_url.removeprefix("sqlite://").removeprefix("/") or "data/hfchat.db")


def load_settings(**overrides) -> Settings:
    """Build the settings, turning a validation error into one readable line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"config error: {name}: {message}") from None
