"""`helm test` for an accel release: one real query over NATS, request/reply on accel.v1.query.

Runs inside an accel image (nats-py is installed there) as `python -c "$(this file)"`.
Environment: ACCEL_NATS_URL (comma separated), ACCEL_TEST_QUERY, ACCEL_TEST_TIMEOUT_S, and
ACCEL_TEST_EXPECT_DOMAIN (optional: the router must have sent the query to this domain).
Exits 0 when the reply is a final answer (type "final.answer"), 1 otherwise.
"""

import asyncio
import json
import os
import sys

import nats


async def ask(servers: list[str], text: str, timeout: float) -> dict:
    nc = await nats.connect(servers=servers, connect_timeout=10, max_reconnect_attempts=3)
    try:
        msg = await nc.request("accel.v1.query", json.dumps({"text": text}).encode(), timeout=timeout)
    finally:
        await nc.close()
    reply = json.loads(msg.data)
    if not isinstance(reply, dict):
        raise ValueError(f"reply is not a JSON object: {msg.data[:200]!r}")
    return reply


def main() -> int:
    servers = [s.strip() for s in os.environ["ACCEL_NATS_URL"].split(",") if s.strip()]
    text = os.environ["ACCEL_TEST_QUERY"]
    timeout = float(os.environ.get("ACCEL_TEST_TIMEOUT_S", "60"))
    expect_domain = os.environ.get("ACCEL_TEST_EXPECT_DOMAIN", "")
    print(f"asking accel.v1.query: {text!r}", flush=True)
    try:
        reply = asyncio.run(ask(servers, text, timeout))
    except Exception as exc:
        print(f"FAIL: no reply: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(reply, indent=2)[:4000], flush=True)
    if reply.get("type") != "final.answer":
        print(f"FAIL: reply type is {reply.get('type')!r}, expected 'final.answer'", file=sys.stderr)
        return 1
    if expect_domain:
        routed = {p.get("domain") for p in reply.get("parts", [])}
        routed |= {m.get("domain") for m in reply.get("missing", [])}
        if expect_domain not in routed:
            seen = sorted(map(str, routed))
            print(f"FAIL: not routed to {expect_domain!r} (routed to {seen})", file=sys.stderr)
            return 1
    print(f"PASS: final answer, status {reply.get('status')!r}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
