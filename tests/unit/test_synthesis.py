"""LLM synthesis is checked: invented numbers or dropped domains fall back to the template."""

from datetime import UTC, datetime

from contracts import DomainAnswer
from services.aggregator.synthesis import Synthesizer
from shared.inference import Completion


class FakeModel:
    def __init__(self, text: str) -> None:
        self.text = text

    async def complete(self, *args: object, **kwargs: object) -> Completion:
        return Completion(text=self.text, prompt_tokens=1, completion_tokens=1)


def part(domain: str, text: str) -> DomainAnswer:
    return DomainAnswer(query_id="q", conversation_id="c", deadline=datetime.now(UTC), task_id=domain,
                        domain=domain, sub_query="s", status="answered", text=text)  # fmt: skip


PARTS = [part("travel", "One checked bag of 23 kg [1]."), part("fintech", "Transfers cost 0.5% [2].")]
TITLES = {"travel": "Travel", "fintech": "Fintech"}


async def test_faithful_merge_is_used() -> None:
    s = Synthesizer(FakeModel("Travel says one checked bag of 23 kg; Fintech says transfers cost 0.5%."))  # type: ignore[arg-type]
    text, why = await s.merge("q", PARTS, TITLES)
    assert text is not None and why == "synthesized"


async def test_invented_number_falls_back() -> None:
    s = Synthesizer(FakeModel("Travel allows 30 kg and Fintech charges 0.5%."))  # type: ignore[arg-type]
    text, why = await s.merge("q", PARTS, TITLES)
    assert text is None and "30" in why


async def test_dropped_domain_falls_back() -> None:
    s = Synthesizer(FakeModel("Travel allows one checked bag of 23 kg."))  # type: ignore[arg-type]
    text, why = await s.merge("q", PARTS, TITLES)
    assert text is None and "fintech" in why
