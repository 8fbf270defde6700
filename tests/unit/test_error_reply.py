"""Where a failed message's error event goes when its sender gave no NATS reply subject."""

from __future__ import annotations

from shared.broker import error_reply


def test_the_header_reply_comes_first_then_the_body_reply() -> None:
    assert error_reply("_INBOX.a", "_INBOX.b") == "_INBOX.a"
    assert error_reply("", "_INBOX.b") == "_INBOX.b"
    assert error_reply("", None) == ""


def test_subjects_of_the_system_and_unsafe_subjects_are_not_replied_to() -> None:
    assert error_reply("accel.v1.errors", None) == ""
    assert error_reply("", "accel.v1.intake") == ""
    assert error_reply("accel.v1.task.travel", "_INBOX.b") == "_INBOX.b"
    assert error_reply("", "bad subject") == ""
    assert error_reply("", "wild.*") == ""
    assert error_reply("", "x" * 300) == ""
