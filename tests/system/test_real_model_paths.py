"""The optional model paths (router LLM cascade, LLM synthesis) against the real llama-server.

Their logic is unit-tested with a fake model; here the same code talks to SmolLM2 over HTTP, so
request and response formats are checked for real. A 135M model's judgement is not asserted, only
that every outcome is one the code allows.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime

from contracts import DomainAnswer
from services.aggregator.synthesis import Synthesizer
from services.router.classifier import OOS, DomainClassifier
from services.router.logic import Router, RouterLLM
from shared.domains import load_domains
from shared.embeddings import default_embedder
from shared.inference import ChatModel
from shared.settings import DEFAULT_DOMAINS_DIR, REPO_ROOT
from tests.system.conftest import RunningStack


def model(stack: RunningStack) -> ChatModel:
    return ChatModel(str(stack.info["model_url"]), model="smollm2", timeout_s=60)


async def test_the_router_cascade_asks_the_real_model_when_unsure(stack: RunningStack) -> None:
    classifier = DomainClassifier(default_embedder(), cache_dir=REPO_ROOT / ".accel" / "cache")
    classifier.fit(load_domains(DEFAULT_DOMAINS_DIR))
    classifier.calibration = dataclasses.replace(classifier.calibration, unsure_margin=1.0)  # always unsure
    router = Router(classifier, llm=RouterLLM(model(stack)))
    outcome = await router.decide("Can I take my dog on the plane with me?")
    assert outcome.llm_called and outcome.llm_ms > 0
    assert outcome.decision.path == "llm"
    assert "router LLM chose" in outcome.decision.reason or "fast choice kept" in outcome.decision.reason
    if outcome.decision.rejected:
        assert outcome.decision.reason_code == "out_of_scope"
    else:
        [route] = outcome.routes
        assert route.domain in classifier.names and route.domain != OOS


async def test_llm_synthesis_with_the_real_model_is_checked_or_falls_back(stack: RunningStack) -> None:
    def part(domain: str, text: str) -> DomainAnswer:
        return DomainAnswer(query_id="q", conversation_id="c", deadline=datetime.now(UTC), task_id=domain,
                            domain=domain, sub_query="s", status="answered", text=text)  # fmt: skip

    parts = [part("travel", "Economy includes one checked bag of 23 kg [1]."),
             part("fintech", "Sending money abroad costs 0.5% of the amount [1].")]  # fmt: skip
    titles = {"travel": "Travel", "fintech": "Fintech"}
    text, why = await Synthesizer(model(stack)).merge(
        "How much luggage can I check, and what does a transfer abroad cost?", parts, titles
    )
    assert "unavailable" not in why, why  # the call itself worked
    if text is None:
        assert why.startswith("synthesis rejected") and why.endswith("template used")
    else:
        assert why == "synthesized"
        assert set(re.findall(r"\d+(?:[.,]\d+)*", text)) <= {"1", "23", "0.5"}
        assert "travel" in text.lower() and "fintech" in text.lower()


async def test_a_seed_makes_the_real_model_sample_the_same_text(stack: RunningStack) -> None:
    messages = [{"role": "user", "content": "Write one sentence about a suitcase."}]
    seeded = ChatModel(str(stack.info["model_url"]), model="smollm2", timeout_s=60, client="direct", seed=11)
    try:
        first = await seeded.complete(messages, max_tokens=24, temperature=1.0)
        again = await seeded.complete(messages, max_tokens=24, temperature=1.0)
        assert first.text and first.text == again.text  # what lets bench rag compare two runs
    finally:
        await seeded.close()
