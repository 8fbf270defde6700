"""Offline abstention experiment: which grader signals tell "answers it" from "on topic"?

    python -m bench abstain [--data FILE] [--domains DIR] [--dev D1,D2,D3]

Runs every question of ``bench/data/rag_qa.jsonl`` through the domain's real retriever, searcher
and grader (no language model: a domain abstains before generation on the grader's word alone),
records candidate signals, and prints for each signal and for combinations of them the AUC
(answerable against unanswerable) and the share of unanswerable questions abstained on at the
strictest setting that still answers at least 80% of the answerable ones.

Only 160 questions: figures are labelled by how they were obtained.

* ``in-sample``: each signal's own threshold set on the same questions it is scored on. Fine for
  a single signal (one number chosen), optimistic for anything fitted.
* ``held-out``: weights and thresholds chosen on the development domains (``--dev``), applied
  unchanged to the other domains' questions.
* ``LODO``: leave one domain out; fit on four domains, apply to the fifth, pooled over the five.

Signals are oriented so that higher means "more likely answered by the knowledge base". None of
them names a domain, a question or a word of the QA set; word statistics come from each domain's
own knowledge base.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.rag import DATA, local_search
from services.domain.agents import Evidence, Grader, Searcher
from services.domain.coverage import TermWeights, content_tokens, coverage, knowledge_texts
from services.domain.settings import DomainSettings
from shared.domains import load_domains
from shared.embeddings import Embedder, StaticEmbedder, default_embedder, to_message, token_rows
from shared.service import single_threaded_blas
from shared.settings import DEFAULT_DOMAINS_DIR
from shared.text import stem, words

TOLD = DATA.with_name("rag_told.jsonl")  # answerable questions that also tell a name the pages never use
DEV = ("ecommerce", "travel", "fintech")  # chosen before any figure was looked at
ANSWERED = 0.8  # the answer rate the abstention figures are read at


def content(text: str) -> list[str]:
    """Distinct content stems, in order (numbers left out, as the verifier's content words)."""
    return list(dict.fromkeys(stem(w) for w in words(text) if not w[0].isdigit()))


# ---- contextual token vectors (MiniLM's last hidden state) --------------------------------------------
class TokenVectors:
    def __init__(self, embedder: Embedder, static: np.ndarray | None = None) -> None:
        """``static``: a per-token table (``StaticEmbedder``'s, centred) used instead of the model."""
        self.embedder = embedder
        self.static = static
        self._cache: dict[str, tuple[np.ndarray, list[str]]] = {}

    def __call__(self, text: str) -> tuple[np.ndarray, list[str]]:
        """Normalised vectors of the text's tokens (no [CLS]/[SEP]; ``token_rows``, as the grader's)
        and, for each, the stem of the content word it belongs to ("" for stopwords, numbers and
        punctuation; ``content_tokens``, as the grader's)."""
        if text in self._cache:
            return self._cache[text]
        if self.static is not None:
            hidden = self.static[self.embedder.tokenizer.encode(text).ids]
        else:
            hidden = self.embedder.hidden(text)
        v = token_rows(hidden).astype(np.float32)
        stems = [""] * len(v)
        for i, s in content_tokens(self.embedder, text):
            stems[i] = s
        self._cache[text] = (v, stems)
        return self._cache[text]


# ---- signals ------------------------------------------------------------------------------------
def weighted(values: dict[str, float], weights: dict[str, float]) -> float:
    total = sum(weights.values())
    return sum(values[k] * weights[k] for k in values) / total if total else 1.0


def soft_coverage(question: str, sentences: list[str], stats: TermWeights, tokens: TokenVectors) -> float:
    """IDF-weighted mean, over the question's content-word tokens, of each token's best cosine
    with a token of the sentences (BERTScore recall against their union)."""
    qv, qs = tokens(question)
    rows = [i for i, s in enumerate(qs) if s]
    if not rows or not sentences:
        return 0.0
    m = np.full(len(rows), -1.0, dtype=np.float32)
    for sent in sentences:
        sv, _ = tokens(sent)
        if len(sv):
            m = np.maximum(m, (qv[rows] @ sv.T).max(axis=1))
    w = np.array([stats.idf(qs[i]) for i in rows], dtype=np.float32)
    return float((m * w).sum() / w.sum())


def signals(
    question: str,
    evidence: Evidence,
    stats: TermWeights,
    tokens: TokenVectors,
    static: TokenVectors,
    shipped: Callable[[str, list[str]], float],
) -> dict[str, float]:
    f: dict[str, float] = {}
    sims = evidence.sims
    order = np.argsort(-sims) if len(sims) else np.zeros(0, dtype=int)
    f["sim"] = max(evidence.relevance, default=0.0)  # the grader's signal before coverage
    f["coverage"] = shipped(question, [s for _, s in evidence.sentences])  # the grader's own code
    every = [s for _, s in evidence.sentences]
    f["static_all_idf"] = soft_coverage(question, every, stats, static)
    f["static3_idf"] = soft_coverage(question, [every[i] for i in order[:3]], stats, static)
    f["sim_margin"] = float(sims[order[0]] - sims[order[1]]) if len(sims) > 1 else 0.0
    rel = evidence.relevance
    f["passage_margin"] = rel[0] - rel[1] if len(rel) > 1 else (rel[0] if rel else 0.0)
    q = content(question)
    idf = {s: stats.idf(s) for s in q}
    top = [evidence.sentences[i][1] for i in order[:3]]
    passages = " ".join(p.text for p in evidence.passages)

    def cov(text: str, weights: dict[str, float]) -> float:
        have = set(content(text))
        return weighted({s: float(s in have) for s in q}, weights)

    ones = dict.fromkeys(q, 1.0)
    f["cov1_exact"] = cov(top[0], ones) if top else 0.0
    f["cov1_exact_idf"] = cov(top[0], idf) if top else 0.0
    f["cov3_exact_idf"] = cov(" ".join(top), idf) if top else 0.0
    f["covP_exact_idf"] = cov(passages, idf) if passages else 0.0
    f["in_kb_idf"] = weighted({s: float(s in stats.df) for s in q}, idf)  # share of the words the KB has
    f["no_oov"] = -float(sum(s not in stats.df for s in q))
    rarest = max(q, key=lambda s: (idf[s], s)) if q else ""
    f["rarest_in_passages"] = float(rarest in set(content(passages))) if rarest else 1.0

    # soft matches in contextual token vectors (BERTScore recall), question tokens of content words
    qv, qs = tokens(question)
    rows = [i for i, s in enumerate(qs) if s]
    if rows and top:
        best_tok = np.zeros(len(rows), dtype=np.float32)
        best1 = None
        for k, sent in enumerate(top):
            sv, _ = tokens(sent)
            m = (qv[rows] @ sv.T).max(axis=1) if len(sv) else np.zeros(len(rows))
            if k == 0:
                best1 = m
            best_tok = np.maximum(best_tok, m)
        assert best1 is not None
        w = np.array([stats.idf(qs[i]) for i in rows], dtype=np.float32)
        f["bert1"] = float(best1.mean())
        f["bert1_idf"] = float((best1 * w).sum() / w.sum())
        f["bert3_idf"] = float((best_tok * w).sum() / w.sum())
        # per word: the word's best token match (min over its word pieces), then the weakest word
        per_word: dict[str, float] = {}
        for j, i in enumerate(rows):
            per_word[qs[i]] = min(per_word.get(qs[i], 1.0), float(best_tok[j]))
        f["bert3_minword"] = min(per_word.values())
        # every label, also when the evidence has exactly 2, 5 or 10 sentences
        for label, k in (("2", 2), ("5", 5), ("10", 10), ("all", len(evidence.sentences))):
            m = np.zeros(len(rows), dtype=np.float32)
            for i in order[:k]:
                sv, _ = tokens(evidence.sentences[i][1])
                if len(sv):
                    m = np.maximum(m, (qv[rows] @ sv.T).max(axis=1))
            f[f"bert{label}_idf"] = float((m * w).sum() / w.sum())
        f["bert3_plain"] = float(best_tok.mean())
        f["bert3_rarest"] = per_word.get(rarest, min(per_word.values()))
        srt = sorted(per_word.values())
        f["bert3_min2word"] = float(np.mean(srt[:2]))
    else:
        for key in (
            "bert1",
            "bert1_idf",
            "bert3_idf",
            "bert3_minword",
            "bert2_idf",
            "bert5_idf",
            "bert10_idf",
            "bertall_idf",
            "bert3_plain",
            "bert3_rarest",
            "bert3_min2word",
        ):
            f[key] = 0.0
    return f


# ---- evaluation ---------------------------------------------------------------------------------
def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels], scores[~labels]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def threshold_at(scores: np.ndarray, labels: np.ndarray, answered: float = ANSWERED) -> float:
    """The highest threshold that still answers ``answered`` of the answerable questions."""
    pos = np.sort(scores[labels])[::-1]
    return float(pos[max(0, math.ceil(answered * len(pos)) - 1)])


def rates(scores: np.ndarray, labels: np.ndarray, t: float) -> tuple[float, float]:
    """(answered share of answerable, abstained share of unanswerable) at threshold ``t``."""
    return float((scores[labels] >= t).mean()), float((scores[~labels] < t).mean())


Fit = Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray], np.ndarray]]


def logistic(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    model.fit(x, y)
    return lambda z: model.decision_function(z)


def weighted_sum(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """sim + w·other, w from a grid (one parameter), chosen for abstention at 80% answered."""
    best = (-1.0, 0.0, 0.0)
    for w in np.linspace(0.0, 1.0, 41):
        s = x[:, 0] + w * x[:, 1]
        _, ab = rates(s, y, threshold_at(s, y))
        best = max(best, (ab, auc(s, y), float(w)))
    w = best[2]
    return lambda z: z[:, 0] + w * z[:, 1]


def evaluate(name: str, x: np.ndarray, y: np.ndarray, dom: np.ndarray, dev: set[str], fit: Fit | None) -> str:
    """One line: in-sample AUC and abstention at 80% answered; held-out (fit and threshold on the
    development domains); LODO (fit and threshold on four domains, pooled over the held-out fifth)."""
    is_dev = np.isin(dom, list(dev))

    def scorer(mask: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        return fit(x[mask], y[mask]) if fit else (lambda z: z[:, 0])

    full = scorer(np.ones(len(y), dtype=bool))(x)
    t = threshold_at(full, y)
    _, ab_in = rates(full, y, t)
    f = scorer(is_dev)
    t_dev = threshold_at(f(x[is_dev]), y[is_dev])
    held = f(x[~is_dev])
    ans_h, ab_h = rates(held, y[~is_dev], t_dev)
    _, ab_h_own = rates(held, y[~is_dev], threshold_at(held, y[~is_dev]))
    n_ans = n_ab = 0
    lodo_scores = np.zeros(len(y))
    for d in sorted(set(dom)):
        test = dom == d
        g = scorer(~test)
        t_d = threshold_at(g(x[~test]), y[~test])
        s = g(x[test])
        lodo_scores[test] = s - t_d  # centred on each fold's own threshold, so they pool
        n_ans += int((s[y[test]] >= t_d).sum())
        n_ab += int((s[~y[test]] < t_d).sum())
    return (
        f"{name:<28} {auc(full, y):5.3f} {ab_in:6.0%} | {auc(held, y[~is_dev]):5.3f} {ab_h_own:6.0%}"
        f"  {ans_h:5.0%}/{ab_h:4.0%} | {auc(lodo_scores, y):5.3f}"
        f"  {n_ans / y.sum():5.0%}/{n_ab / (~y).sum():4.0%}"
    )


HEADER = (
    f"{'signal':<28} {'in-sample':>12} | {'held-out (dev-fitted)':^24} | {'LODO (pooled)':^17}\n"
    f"{'':<28} {'AUC':>5} {'abst@80':>6} | {'AUC':>5} {'abst@80':>6}  {'ans/abst':>10} |"
    f" {'AUC':>5}  {'ans/abst':>10}"
)


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench abstain")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--domains", type=Path, default=DEFAULT_DOMAINS_DIR)
    parser.add_argument("--dev", default=",".join(DEV), help="development domains (the rest are held out)")
    parser.add_argument("--dump", type=Path, default=None, help="write each question's signals here (JSONL)")
    args = parser.parse_args(argv)
    single_threaded_blas()  # as the services run: a BLAS pool only spins on these small products
    dev = set(args.dev.split(","))
    qas = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    domains = load_domains(args.domains)
    embedder = default_embedder()
    search = local_search(domains, embedder, "accel-bench-abstain-")
    settings = DomainSettings(domain="travel")
    searcher = Searcher(search, top_k=settings.top_k)
    graders = {
        name: Grader(
            embedder,
            settings.min_relevance,
            settings.answer_threshold,
            coverage_threshold=settings.coverage_threshold,
            knowledge=knowledge_texts(d.knowledge_dir),
        )
        for name, d in domains.items()
    }
    tokens = TokenVectors(embedder)
    table = StaticEmbedder(embedder, Path(tempfile.gettempdir()) / "accel-static").table
    static = TokenVectors(embedder, table - table.mean(axis=0))
    rows: list[dict[str, float]] = []
    decided: list[bool] = []

    async def graded(qa: dict[str, object]) -> Evidence:
        """The question searched and graded as its domain does."""
        question = str(qa["question"])
        qvec = embedder.encode_one(question)
        passages = await searcher.run(
            [question], domain=str(qa["domain"]), tenant="default", query_id="abstain",
            embeddings={question: to_message(question, qvec)}, score_against=question,
        )  # fmt: skip
        return graders[str(qa["domain"])].grade(question, passages, question_vector=qvec)

    for qa in qas:
        question = str(qa["question"])
        grader = graders[qa["domain"]]
        evidence = await graded(qa)

        def shipped(q: str, sentences: list[str], g: Grader = grader) -> float:
            return coverage(q, sentences, g.tokens, g.weights)

        rows.append(signals(question, evidence, grader.weights, tokens, static, shipped))
        decided.append(evidence.answerable)
    told = [json.loads(line) for line in TOLD.read_text().splitlines() if line.strip()]
    asked = {str(qa["id"]): ok for qa, ok in zip(qas, decided, strict=True)}
    told_answered = 0
    for qa in told:
        told_answered += (await graded(qa)).answerable
    if args.dump:
        args.dump.write_text(
            "".join(json.dumps({"id": qa["id"], "answerable": qa["answerable"], **r}) + "\n" for qa, r in zip(qas, rows, strict=True))
        )  # fmt: skip
    y = np.array([bool(qa["answerable"]) for qa in qas])
    dom = np.array([qa["domain"] for qa in qas])
    names = list(rows[0])
    x_all = np.array([[r[k] for k in names] for r in rows], dtype=np.float64)
    col = {k: x_all[:, i : i + 1] for i, k in enumerate(names)}
    print(f"{len(qas)} questions ({y.sum()} answerable, {(~y).sum()} not); dev domains: {sorted(dev)}")
    print("abst@80: unanswerable abstained on at the threshold answering >= 80% of the answerable;")
    print("ans/abst: answered / abstained with the threshold (and weights) fixed on the training part")
    print(HEADER)
    ok = np.array(decided)
    print(
        f"the grader as configured (similarity >= {settings.answer_threshold:.2f} and coverage >= "
        f"{settings.coverage_threshold:.2f}; defaults chosen on all {len(y)} questions: in-sample):"
    )
    for d in [*sorted(set(dom)), "all"]:
        m = np.ones(len(y), dtype=bool) if d == "all" else dom == d
        print(
            f"  {d:<10} answered {ok[m & y].mean():5.1%} of answerable, abstained {(~ok[m & ~y]).mean():5.1%}"
        )
    print(
        f"  {len(told)} answerable questions rewritten to tell an incidental name ({TOLD.name}): answered "
        f"{told_answered}; the questions they rewrite: {sum(asked[str(qa['rewrites'])] for qa in told)}"
    )
    print("-- single signals (one threshold)")
    for k in names:
        print(evaluate(k, col[k], y, dom, dev, None))
    print("-- combined with the similarity: sim + w·signal (w from a grid on the training part)")
    for k in names:
        if k != "sim":
            print(evaluate(f"sim+w*{k}", np.hstack([col["sim"], col[k]]), y, dom, dev, weighted_sum))
    print("-- logistic regression on the similarity and one or more signals (fitted on the training part)")
    for combo in (
        ("sim", "bert1"),
        ("sim", "bert3_idf"),
        ("sim", "cov3_exact_idf"),
        ("sim", "in_kb_idf"),
        ("sim", "bert3_minword"),
        ("sim", "bert3_idf", "in_kb_idf"),
        ("sim", "bert3_minword", "covP_exact_idf"),
        tuple(names),
    ):
        x = np.hstack([col[k] for k in combo])
        print(evaluate("LR " + "+".join(combo)[:25], x, y, dom, dev, logistic))
