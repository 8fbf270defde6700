"""The settings base class every service's settings derive from (env prefix ``ACCEL_``)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DOMAINS_DIR = REPO_ROOT / "domains"


class ServiceSettings(BaseSettings):
    """Read once at start-up from ``ACCEL_*`` variables (and ``.env``), then passed down."""

    model_config = SettingsConfigDict(env_prefix="ACCEL_", env_file=".env", extra="ignore")

    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server URL(s), comma separated.")
    log_level: str = "INFO"
    instance_id: str = Field(default="", description="Replica id; generated when empty.")


class EmbeddingSettings(ServiceSettings):
    """Settings of the services that embed text with MiniLM (router, domain, retriever)."""

    embedding_cache: int = Field(
        default=4096,
        ge=0,
        description="Vectors of the most recent texts each process keeps, by exact text (0: none); "
        "about 1.6 KB a text. A repeated question then costs no model run (and, in the router, no "
        "classification: its class probabilities are kept too).",
    )
