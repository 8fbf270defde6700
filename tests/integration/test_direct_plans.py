"""Plans go straight to an aggregator replica that announced itself, with their tasks dispatched at
the same time; a replica that is gone (no responders on its plan subject) is forgotten, and its
query is planned through the aggregator queue group instead, never lost."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import nats as nats_py
import pytest
from nats.aio.msg import Msg

from accel.client import AccelClient
from contracts import AggregatorPresence, subjects
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration
QUESTIONS = [
    "What is the checked baggage allowance on an economy ticket?",
    "How do I activate an eSIM on my phone?",
    "How long do refunds take after a return?",
    "What does it cost to send money abroad?",
]


async def aggregator_id(pipeline: Pipeline) -> str:
    nc = await nats_py.connect(pipeline.nats_url)
    try:
        reply = await nc.request("$SRV.INFO.accel-aggregator", b"", timeout=5)
    finally:
        await nc.close()
    return str(json.loads(reply.data)["metadata"]["aggregator_id"])


class PlanTap:
    """Counts plans on the queue group's subject and on one replica's own (listening does not answer)."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    async def count(self, msg: Msg) -> None:
        self.seen[msg.subject] += 1


async def ask_until_direct(
    client: AccelClient, tap: PlanTap, direct: str, in_a_row: int, limit_s: float
) -> int:
    """Ask until ``in_a_row`` consecutive queries were planned straight at ``direct``; every one must
    be answered. Returns how many were asked."""
    streak, asked, end = 0, 0, time.monotonic() + limit_s
    while streak < in_a_row:
        assert time.monotonic() < end, f"plans never went straight to the replica: {dict(tap.seen)}"
        before = tap.seen[direct]
        final = await client.ask(QUESTIONS[asked % len(QUESTIONS)], timeout_s=30)
        asked += 1
        assert final.status == "answered", final
        await asyncio.sleep(0.05)  # the tap's copy of the plan
        streak = streak + 1 if tap.seen[direct] > before else 0
    return asked


async def test_plans_go_straight_to_an_announced_replica_and_a_gone_one_is_forgotten(
    pipeline: Pipeline, client: AccelClient
) -> None:
    direct = subjects.plan_to(await aggregator_id(pipeline))
    tap = PlanTap()
    nc = await nats_py.connect(pipeline.nats_url)
    try:
        await nc.subscribe(direct, cb=tap.count)
        await nc.subscribe(subjects.PLAN, cb=tap.count)
        # the router hears the replica within one announcement interval (2 s)
        await ask_until_direct(client, tap, direct, in_a_row=3, limit_s=20)

        group_before = tap.seen[subjects.PLAN]
        ghost = AggregatorPresence(
            aggregator_id="ghost",
            plan_subject=subjects.plan_to("ghost"),
            partial_subject=subjects.partial("ghost"),
            every_s=60,
        )
        await nc.publish(subjects.AGGREGATORS, ghost.model_dump_json().encode())
        await nc.flush()
        await asyncio.sleep(0.2)
        asked = await ask_until_direct(client, tap, direct, in_a_row=3, limit_s=20)
        # the query that picked the ghost was planned through the group instead, and answered
        assert tap.seen[subjects.PLAN] > group_before, dict(tap.seen)
        assert asked <= 8, f"the gone replica was not forgotten: {asked} queries, {dict(tap.seen)}"
    finally:
        await nc.close()


async def test_an_announcement_naming_foreign_subjects_gets_an_error_event(pipeline: Pipeline) -> None:
    nc = await nats_py.connect(pipeline.nats_url)
    try:
        errors = await nc.subscribe(subjects.ERRORS)
        bogus = AggregatorPresence(
            aggregator_id="thief",
            plan_subject=subjects.plan_to("thief"),
            partial_subject=subjects.ANSWERS,
            every_s=60,
        )
        await nc.publish(subjects.AGGREGATORS, bogus.model_dump_json().encode())
        end = time.monotonic() + 10
        while True:
            msg = await errors.next_msg(timeout=max(0.1, end - time.monotonic()))
            if b"thief" in msg.data:
                break
        assert b"not its own" in msg.data and b'"invalid_message"' in msg.data
    finally:
        await nc.close()
