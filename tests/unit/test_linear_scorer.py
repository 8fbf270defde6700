"""The numpy scorer gives scikit-learn's probabilities for the same fitted TF-IDF + logistic model."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from services.router.linear import LinearScorer, Tfidf

TEXTS = [
    "where is my parcel", "my parcel is late again", "refund for a broken lamp", "return the lamp please",
    "flight delayed by four hours", "can I change my flight", "baggage allowance on economy",
    "extra bag for my flight", "card declined at the shop", "send money abroad", "freeze my card now",
    "exchange rate for euros",
]  # fmt: skip
LABELS = ["shop"] * 4 + ["travel"] * 4 + ["pay"] * 4
QUERIES = [
    "is my parcel late",
    "flight and baggage",
    "zzzz qqqq",
    "",
    "card card card declined",
    "Ünïcode refund",
]


@pytest.mark.parametrize("classes", [3, 2])
def test_scorer_matches_scikit_learn(classes: int) -> None:
    keep = [i for i, label in enumerate(LABELS) if label in ("shop", "travel", "pay")[:classes]]
    texts, labels = [TEXTS[i] for i in keep], [LABELS[i] for i in keep]
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(len(texts), 5))
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    w, c = words.fit_transform(texts), chars.fit_transform(texts)
    model = LogisticRegression(C=10.0, max_iter=1000).fit(sp.hstack([sp.csr_matrix(dense), w, c]), labels)

    query_dense = rng.normal(size=(len(QUERIES), 5))
    expected = model.predict_proba(
        sp.hstack([sp.csr_matrix(query_dense), words.transform(QUERIES), chars.transform(QUERIES)]).tocsr()
    )
    scorer = LinearScorer(model, 5, w.shape[1], c.shape[1])
    word_rows, char_rows = Tfidf(words), Tfidf(chars)
    got = scorer.proba(query_dense, [word_rows.row(q) for q in QUERIES], [char_rows.row(q) for q in QUERIES])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
