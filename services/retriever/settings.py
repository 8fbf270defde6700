"""Retriever settings (``ACCEL_*`` variables)."""

from pathlib import Path

from pydantic import Field

from shared.settings import DEFAULT_DOMAINS_DIR, ServiceSettings


class RetrieverSettings(ServiceSettings):
    domains_dir: Path = Field(default=DEFAULT_DOMAINS_DIR, description="Folder of domain definitions.")
    index_dir: Path = Field(default=Path(".accel/index"), description="Where the embedded index lives.")
    ingest_on_start: bool = Field(default=True, description="Index each domain's knowledge/ folder at start.")
