"""Aggregator settings (``ACCEL_*`` variables)."""

from pathlib import Path

from pydantic import Field

from shared.settings import DEFAULT_DOMAINS_DIR, ServiceSettings


class AggregatorSettings(ServiceSettings):
    domains_dir: Path = Field(
        default=DEFAULT_DOMAINS_DIR, description="Folder of domain definitions (titles)."
    )
    redis_url: str = "redis://127.0.0.1:6379/0"
    memory_max_turns: int = Field(default=20, ge=1)
    memory_ttl_s: int = Field(default=86_400, ge=1)
    synthesis: str = Field(
        default="template",
        description="How several domain answers are merged: 'template', or an LLM "
        "('embedded' or a TGI base URL).",
    )
    presence_every_s: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="How often this replica announces itself to the routers (accel.v1.aggregators); "
        "a router forgets a replica it has not heard from in three times this.",
    )
    synthesis_model: str = "tgi"
    synthesis_api_key: str | None = Field(
        default=None, description="Bearer token for the synthesis LLM's endpoint, if it needs one."
    )
    embedded_model_url: str = "http://127.0.0.1:8080/v1"
