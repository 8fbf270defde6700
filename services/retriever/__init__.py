"""Retriever service: owns every domain's knowledge base (ingest, index, search)."""
