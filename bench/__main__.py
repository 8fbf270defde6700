"""``python -m bench [NAME …]``: run benchmarks and print their figures (``make bench`` runs all)."""

from __future__ import annotations

import argparse
import asyncio

from bench import embeddings, load, memory, rag, router

BENCHES = {
    "router": router.main,
    "rag": rag.main,
    "load": load.main,
    "memory": memory.main,
    "embeddings": embeddings.main,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[*BENCHES, []], help="which benchmarks (default: all)")
    args, rest = parser.parse_known_args()
    for name in args.names or list(BENCHES):
        asyncio.run(BENCHES[name](rest))


if __name__ == "__main__":
    main()
