"""Test helpers: real servers on free ports, and a stub OpenAI-compatible model endpoint."""
