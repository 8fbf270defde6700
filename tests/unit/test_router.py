"""The router on the shipped domain definitions: routes in-domain questions, rejects others."""

import pytest

from services.router.classifier import DomainClassifier
from services.router.logic import Router
from shared.domains import load_domains
from shared.embeddings import default_embedder
from shared.settings import DEFAULT_DOMAINS_DIR


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(DomainClassifier(default_embedder()).fit(load_domains(DEFAULT_DOMAINS_DIR)))


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("What is the checked baggage allowance on an economy ticket?", "travel"),
        ("my parcel hasn't arrived yet, where is it", "ecommerce"),
        ("how much does it cost to send euros to a US bank account", "fintech"),
        ("does my plan include roaming in Spain", "mobile"),
        ("can I download films to watch offline", "media"),
    ],
)
def test_routes_to_the_domain(router: Router, text: str, domain: str) -> None:
    decision, routes = router.decide(text)
    assert not decision.rejected, decision
    assert [r.domain for r in routes] == [domain]
    assert decision.scores[domain] == max(decision.scores.values())
    assert decision.threshold is not None and decision.path == "fast"


@pytest.mark.parametrize("text", ["Explain the offside rule in football", "What is the capital of Mongolia?"])
def test_rejects_out_of_scope(router: Router, text: str) -> None:
    decision, routes = router.decide(text)
    assert decision.rejected and decision.reason_code == "out_of_scope" and routes == []
    assert "threshold" in decision.reason


def test_threshold_is_calibrated_from_examples(router: Router) -> None:
    cal = router.classifier.calibration
    assert 0.0 < cal.threshold < 1.0
    assert cal.counter_max is not None  # the shipped domains list counter-examples
