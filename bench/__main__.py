"""``python -m bench [NAME …]``: run benchmarks and print their figures (``make bench`` runs all)."""

from __future__ import annotations

import argparse
import asyncio

from bench import abstain, embeddings, load, memory, messaging, model_client, quoting, rag, router

BENCHES = {
    "router": router.main,
    "rag": rag.main,
    "load": load.main,
    "memory": memory.main,
    "messaging": messaging.main,
    "model-client": model_client.main,
    "embeddings": embeddings.main,
    "abstain": abstain.main,
    "quoting": quoting.main,
}


def main() -> None:
    # --help after a name is that benchmark's own (``python -m bench load --help``)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, add_help=False)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"which benchmarks, of {', '.join(BENCHES)} (default: all)"
    )
    args, rest = parser.parse_known_args()
    unknown = [n for n in args.names if n not in BENCHES]
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    if not args.names and {"-h", "--help"} & set(rest):
        parser.print_help()
        print("\n`python -m bench NAME --help` lists that benchmark's options.")
        return
    for name in args.names or list(BENCHES):
        asyncio.run(BENCHES[name](rest))


if __name__ == "__main__":
    main()
