"""Domain service: one configured domain's agentic RAG over its small model (one process per domain)."""
