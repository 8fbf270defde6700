"""Routing decisions: guard first, then the domain classifier against its calibrated threshold."""

from __future__ import annotations

import time

from contracts import DomainRoute, RouteDecision
from contracts.messages import new_id
from services.router import guard
from services.router.classifier import DomainClassifier


class Router:
    def __init__(self, classifier: DomainClassifier, max_chars: int = 2000) -> None:
        self.classifier = classifier
        self.max_chars = max_chars

    @property
    def threshold(self) -> float:
        return self.classifier.calibration.threshold

    def decide(self, text: str) -> tuple[RouteDecision, list[DomainRoute]]:
        t0 = time.perf_counter()

        def ms() -> float:
            return round((time.perf_counter() - t0) * 1000, 3)

        verdict = guard.check(text, self.max_chars)
        if verdict is not None:
            return RouteDecision(
                rejected=True,
                reason_code=verdict.reason_code,
                reason=verdict.reason,
                path="guard",
                decision_ms=ms(),
            ), []
        scores = self.classifier.scores(text)
        best = max(scores, key=lambda d: scores[d])
        if scores[best] < self.threshold:
            reason = (
                f"no configured domain covers this query (best: {best} at {scores[best]:.2f}, "
                f"threshold {self.threshold:.2f}); domains: {', '.join(self.classifier.names)}"
            )
            return RouteDecision(
                rejected=True,
                reason_code="out_of_scope",
                reason=reason,
                scores=scores,
                threshold=round(self.threshold, 4),
                path="fast",
                decision_ms=ms(),
            ), []
        route = DomainRoute(task_id=new_id(), domain=best, sub_query=text.strip(), score=scores[best])
        return RouteDecision(
            rejected=False,
            reason=f"{best} scored {scores[best]:.2f} (threshold {self.threshold:.2f})",
            scores=scores,
            threshold=round(self.threshold, 4),
            path="fast",
            decision_ms=ms(),
        ), [route]
