"""Retriever settings (``ACCEL_*`` variables)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from shared.settings import DEFAULT_DOMAINS_DIR, EmbeddingSettings


class RetrieverSettings(EmbeddingSettings):
    domains_dir: Path = Field(default=DEFAULT_DOMAINS_DIR, description="Folder of domain definitions.")
    index_dir: Path = Field(default=Path(".accel/index"), description="Where the embedded index lives.")
    ingest_on_start: bool = Field(default=True, description="Index each domain's knowledge/ folder at start.")
    store: Literal["embedded", "weaviate"] = Field(
        default="embedded", description="Knowledge store: the embedded index, or a Weaviate server."
    )
    weaviate_url: str | None = Field(
        default=None, description="Weaviate REST URL, e.g. http://weaviate:8080."
    )
    weaviate_grpc_port: int = Field(default=50051, description="Weaviate gRPC port (same host as the URL).")
    weaviate_api_key: SecretStr | None = Field(default=None, description="Weaviate API key, when auth is on.")
