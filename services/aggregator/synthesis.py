"""Optional LLM synthesis of several domain answers into one reply (the template is the default).

The merged text must stay honest: every number in it must come from one of the parts, and every
domain that answered must still be named. Otherwise the template answer is used, with a warning.
"""

from __future__ import annotations

import re

from contracts import DomainAnswer
from shared.inference import ChatModel, ModelUnavailable

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


class Synthesizer:
    def __init__(self, model: ChatModel, max_tokens: int = 300) -> None:
        self.model = model
        self.max_tokens = max_tokens

    async def merge(
        self, question: str, parts: list[DomainAnswer], titles: dict[str, str]
    ) -> tuple[str | None, str]:
        """(merged text, or None to keep the template; and why)."""
        answered = [p for p in parts if p.status == "answered"]
        if len(answered) < 2:
            return None, "synthesis needs two or more answered parts"
        listing = "\n".join(f"{titles.get(p.domain, p.domain)}: {p.text}" for p in answered)
        messages = [
            {
                "role": "system",
                "content": "Combine the answers below into one reply to the question. Keep every fact "
                "exactly as written, add nothing, and say which service each part comes from.\n\n" + listing,
            },
            {"role": "user", "content": question},
        ]
        try:
            out = await self.model.complete(messages, max_tokens=self.max_tokens, temperature=0.0)
        except ModelUnavailable as exc:
            return None, f"synthesis model unavailable ({exc}); template used"
        text = out.text.strip()
        allowed = set().union(*(_numbers(p.text) for p in answered))
        invented = _numbers(text) - allowed
        missing = [p.domain for p in answered if titles.get(p.domain, p.domain).lower() not in text.lower()]
        if not text or invented or missing:
            why = (
                f"invented numbers {sorted(invented)}" if invented else f"left out {missing or 'everything'}"
            )
            return None, f"synthesis rejected ({why}); template used"
        return text, "synthesized"
