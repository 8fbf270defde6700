"""The four Accelerated-LLM services; each is its own process and imports only contracts and shared."""
