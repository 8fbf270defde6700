"""Builds the configured knowledge store: the embedded one (default) or the Weaviate adapter."""

from __future__ import annotations

from services.retriever.settings import RetrieverSettings
from services.retriever.store import EmbeddedStore, KnowledgeStore


def make_store(settings: RetrieverSettings) -> KnowledgeStore:
    """``ACCEL_STORE=embedded`` (default) or ``weaviate`` (with ``ACCEL_WEAVIATE_URL``)."""
    if settings.store == "weaviate":
        if not settings.weaviate_url:
            raise ValueError("ACCEL_STORE=weaviate needs ACCEL_WEAVIATE_URL (e.g. http://weaviate:8080)")
        # Imported here: weaviate-client is an optional dependency (`pip install .[weaviate]`).
        from services.retriever.weaviate_store import WeaviateStore

        key = settings.weaviate_api_key
        return WeaviateStore(
            settings.weaviate_url,
            grpc_port=settings.weaviate_grpc_port,
            api_key=key.get_secret_value() if key is not None else None,
        )
    return EmbeddedStore(settings.index_dir)
