"""The backend client's own errors, before any stack is involved."""

from __future__ import annotations

import logging

import pytest

from accel.client import AccelClient, AccelError
from accel.stack import free_port


async def test_connecting_to_no_nats_is_one_error_saying_why_not_tracebacks_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    url = f"nats://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(AccelError, match=rf"cannot reach NATS at {url} \(ConnectionRefusedError: .*accel up"):
        await AccelClient.connect(url)
    assert not caplog.records, caplog.text  # nats-py logged a traceback for each of its 4 attempts
