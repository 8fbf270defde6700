"""``python -m shared.healthcheck NAME``: exit 0 if service NAME answers a NATS service-API ping.

Used by container HEALTHCHECKs and Kubernetes probes; the NATS URL comes from ``ACCEL_NATS_URL``.
"""

from __future__ import annotations

import asyncio
import sys

import nats

from shared.settings import ServiceSettings


async def _ping(url: str, name: str, timeout: float) -> bool:
    nc = await nats.connect(url, connect_timeout=timeout, max_reconnect_attempts=0, allow_reconnect=False)
    try:
        await nc.request(f"$SRV.PING.{name}", b"", timeout=timeout)
        return True
    except Exception:
        return False
    finally:
        await nc.close()


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m shared.healthcheck SERVICE_NAME (e.g. accel-router)", file=sys.stderr)
        return 2
    settings = ServiceSettings()
    try:
        ok = asyncio.run(_ping(settings.nats_url, sys.argv[1], 2.0))
    except Exception as exc:
        print(f"unhealthy: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print("healthy" if ok else "unhealthy: no answer to $SRV.PING", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
