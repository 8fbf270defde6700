"""Accelerated-LLM for people and backends: the Python client, the CLI and the embedded stack."""

from accel.client import AccelClient, AccelError

__all__ = ["AccelClient", "AccelError"]
