"""Aggregator service: fans partial answers back in, replies, and writes the turn to memory."""
