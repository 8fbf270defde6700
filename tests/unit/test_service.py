"""Process set-up shared by every service."""

from __future__ import annotations

import asyncio
import gc

from shared.service import freeze_startup_heap


def test_freeze_startup_heap_takes_the_heap_out_of_collections() -> None:
    kept = [[i] for i in range(1000)]  # long-lived containers, as a service builds at start-up
    try:
        asyncio.run(freeze_startup_heap())
        assert gc.get_freeze_count() >= len(kept)
        collected = {id(o) for o in gc.get_objects(generation=2)}
        assert not any(id(x) in collected for x in kept)  # frozen: no collection walks them
    finally:
        gc.unfreeze()
