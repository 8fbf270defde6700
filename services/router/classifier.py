"""The fast-path domain classifier, learned at start-up from the domain definitions.

Features: the MiniLM sentence embedding (meaning), its similarity to each class's nearest training
texts (a nearest-neighbour view of the same space, which keeps narrow topics that a linear boundary
over 20 examples misses), word 1–2-gram TF-IDF (domain vocabulary) and character 3–5-gram TF-IDF
(typos, inflections), concatenated into one sparse vector for a multinomial logistic regression
(scikit-learn). The classes are the configured domains plus ``out_of_scope``.

Training texts, all taken from the configuration:

- each domain's description, the topics it lists, and its example utterances;
- sentences of each domain's knowledge documents, when it has any, at a lower weight (what a domain
  knows about is what it can answer);
- as ``out_of_scope``: every domain's counter-examples and a shipped background set of everyday
  questions no company assistant answers (``data/background.txt``). Background lines that a domain
  would count as its own are set aside: any line within 0.75 cosine of one of its texts, and any line
  as close to its texts as its least typical examples are to each other (``_like_examples``). So a
  team that configures, say, a sports or a health domain is not fighting the background.

Calibration uses only the examples. Cross-validated predictions on the example utterances set the
margin below which the fast path counts as unsure (the cascade's band), and a downward shift of the
out-of-scope logit when the background rejects more than ``max_false_rejection`` of the held-out
examples (domains of general questions look like the background; see ``_oos_offset``).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from services.router.linear import LinearScorer, Tfidf
from shared.documents import read_documents
from shared.domains import DomainDefinition
from shared.embeddings import MODEL_ID, Embedder, StaticEmbedder, VectorLRU
from shared.text import stem, stopword, without_list_marker
from shared.text import words as content_words

log = logging.getLogger(__name__)

OOS = "out_of_scope"
BACKGROUND_FILE = Path(__file__).parent / "data" / "background.txt"
FOLLOW_UPS_FILE = Path(__file__).parent / "data" / "followups.txt"
FOLLOW_UP_SIMILARITY = 0.7  # MiniLM cosine at which two short questions are paraphrases
KNOWLEDGE_WEIGHT = 0.3
BACKGROUND_MAX_SIMILARITY = 0.75
_MARKUP = re.compile(r"[*_#|`>]+|-{2,}")


@dataclass(frozen=True)
class Calibration:
    """Thresholds set from the examples alone (cross-validation), with what they were set from."""

    unsure_margin: float
    cv_accuracy: float
    examples: int
    tier1_margin: float = float("inf")
    tier1_coverage: float = 0.0
    oos_offset: float = 0.0  # added to the out-of-scope logit (<= 0), see ``_oos_offset``
    fast_oos_offset: float = 0.0
    cv_rejected: float = 0.0  # held-out examples the unshifted model rejected


def knowledge_sentences(domain: DomainDefinition, limit: int = 400) -> list[str]:
    kdir = domain.knowledge_dir
    if kdir is None or not kdir.is_dir():
        return []
    out: list[str] = []
    for doc in read_documents(kdir):
        out.append(doc.title)
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", doc.text):
            s = " ".join(_MARKUP.sub(" ", without_list_marker(sentence.strip())).split())
            if 4 <= len(s.split()) <= 40:
                out.append(s)
    return out[:limit]


_TOPIC_SPLIT = re.compile(r"\s*[,;]\s*(?:and\s+)?|\s+and\s+(?=[A-Z])")


def description_topics(description: str) -> list[str]:
    """The topics a description lists ("…: baggage allowances and fees, check-in and seats, …"), one
    training text each, so every topic a team names is something the classifier has seen."""
    body = description.split(":", 1)[1] if ":" in description else description
    topics = [t.strip(" .") for t in _TOPIC_SPLIT.split(body)]
    return [t for t in topics if t] if len(topics) > 1 else []


_TOKEN = re.compile(r"[a-z0-9][a-z0-9'-]*")
_COMPOUND = re.compile(r"[a-z]+(?:-[a-z]+)+")
_PUNCTUATION = re.compile(r"[.,;:!?()\"/|*—–]+")


def compound_terms(text: str) -> set[str]:
    """The compound terms a text says, stemmed: two content words side by side ("sleep timer",
    "pickup point") and hyphenated words ("round-up", "extra-legroom"). A product's feature is
    named by one, where its words alone are everyday English."""
    out: set[str] = set()
    for clause in _PUNCTUATION.split(text.lower().replace("\u2019", "'")):
        tokens = _TOKEN.findall(clause)
        out.update(stem(t) for t in tokens if _COMPOUND.fullmatch(t))
        for a, b in pairwise(tokens):
            if a[0].isalpha() and b[0].isalpha() and not (stopword(a) or stopword(b)):
                out.add(f"{stem(a)} {stem(b)}")
    return out


def _own_terms(texts: Sequence[str], labels: Sequence[str], background: Sequence[str]) -> dict[str, str]:
    """The compound terms that only one domain's texts use, none of the out-of-scope texts (the
    counter-examples, the background), each with its domain."""
    owners: dict[str, set[str]] = {}
    for text, label in zip([*texts, *background], [*labels, *[OOS] * len(background)], strict=True):
        for term in compound_terms(text):
            owners.setdefault(term, set()).add(label)
    return {t: next(iter(o)) for t, o in owners.items() if len(o) == 1 and OOS not in o}


def load_lines(path: Path) -> list[str]:
    """The non-empty lines of a shipped text list (the background, the follow-ups)."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class EmbeddingCache:
    """Embeddings of training texts, cached on disk by content so a restart does not re-embed."""

    def __init__(self, embedder: Embedder, folder: Path | None) -> None:
        self.embedder = embedder
        self.folder = folder

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.folder is None:
            return self.embedder.encode(texts, recent=False)
        key = hashlib.sha256("\x1f".join([MODEL_ID, *texts]).encode()).hexdigest()[:24]
        path = self.folder / f"router-embeddings-{key}.npy"
        if path.exists():
            cached = np.load(path)
            if cached.shape[0] == len(texts):
                return cached
        vectors = self.embedder.encode(texts, recent=False)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vectors)
        tmp.replace(path)
        return vectors


@dataclass
class Prediction:
    probs: np.ndarray
    tier: int
    vectors: dict[str, np.ndarray]


def _columns(probs: np.ndarray, have: np.ndarray, want: Sequence[str]) -> np.ndarray:
    """``probs`` (columns: classes ``have``) with its columns in the order of ``want`` (0 if absent)."""
    out = np.zeros((len(probs), len(want)))
    index = {str(c): i for i, c in enumerate(have)}
    for j, c in enumerate(want):
        if c in index:
            out[:, j] = probs[:, index[c]]
    return out


def _rejection_margins(logp: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Per row, how far the out-of-scope log-probability is above the best domain's (> 0: rejected)."""
    if OOS not in classes or len(classes) < 2:
        return np.zeros(0)
    j = list(classes).index(OOS)
    return np.asarray(logp[:, j] - np.delete(logp, j, axis=1).max(axis=1))


def _oos_offset(margins: np.ndarray, max_false_rejection: float) -> float:
    """The shift (<= 0) of the out-of-scope logit under which at most ``max_false_rejection`` of the
    held-out examples are rejected. Examples are in scope by definition; when the shipped background
    outweighs a domain's own evidence (a domain of general questions, such as health or law, looks
    like the everyday questions of the background), the held-out examples show it, and the guard
    steps back. When they are not rejected, nothing changes: the offset is never positive."""
    if not len(margins):
        return 0.0
    return min(0.0, -float(np.quantile(margins, 1.0 - max_false_rejection)))


def _margins(
    logp: np.ndarray, classes: Sequence[str], offset: float, gold: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Top-two probability margins and correctness of held-out rows, with the out-of-scope shift."""
    z = logp.copy()
    if OOS in classes:
        z[:, list(classes).index(OOS)] += offset
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    top2 = np.sort(p, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0], np.asarray(classes)[p.argmax(axis=1)] == gold


def _logreg() -> LogisticRegression:
    return LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced")


NEIGHBOURS = 3
MAX_FALSE_REJECTION = 0.05


SMALL_PRODUCT = 1 << 18  # multiply-adds per block: OpenBLAS keeps to its small-matrix kernel below ~440k
SMALL_BATCH = 8


def similarities(bank: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``vectors @ bank.T`` (rows: vectors). For a few vectors, the bank is taken in blocks small
    enough for OpenBLAS's small-matrix kernel: one product over the whole bank packs all of it
    first, which costs 1.6-2.9x as much for 2-8 vectors (137-225 against 48-139 µs over the
    1,754 x 384 bank of the sample domains, one core of an AMD EPYC). A single vector is a
    matrix-vector product either way, and many amortise the packing."""
    k, d = vectors.shape
    if k == 1 or k > SMALL_BATCH or not len(bank):
        return (bank @ vectors.T).T  # BLAS is ~30% slower on the transposed product
    rows = max(1, SMALL_PRODUCT // (k * d))
    out = np.empty((k, len(bank)), dtype=np.result_type(bank, vectors))
    for start in range(0, len(bank), rows):
        np.matmul(vectors, bank[start : start + rows].T, out=out[:, start : start + rows])
    return out


@dataclass
class Bank:
    """The training vectors of one embedding space with their classes, for neighbour features."""

    vectors: np.ndarray
    labels: np.ndarray
    classes: list[str]
    _class_rows: list[np.ndarray] | None = field(default=None, init=False, repr=False)
    _padded: tuple[np.ndarray, int] | None = field(default=None, init=False, repr=False)

    def features(self, vectors: np.ndarray, self_rows: np.ndarray | None = None) -> np.ndarray:
        """Per class, the mean similarity of the ``NEIGHBOURS`` closest training texts. With
        ``self_rows`` (row i of ``vectors`` is bank row ``self_rows[i]``) a text is not its own
        neighbour, so training rows get the features an unseen query would."""
        sims = similarities(self.vectors, vectors)
        if self_rows is not None:
            sims[np.arange(len(vectors)), self_rows] = -1.0
        padded = self._layout()
        if padded is not None:  # every class at once: one partition over a (texts, classes, m) grid
            where, width = padded
            grid = np.full((len(vectors), len(self.classes) * width), -np.inf, dtype=sims.dtype)
            grid[:, where] = sims
            grid = grid.reshape(len(vectors), len(self.classes), width)
            top = np.partition(grid, width - NEIGHBOURS, axis=2)[:, :, width - NEIGHBOURS :]
            return np.asarray(top.mean(axis=2), dtype=np.float32)
        out = np.zeros((len(vectors), len(self.classes)), dtype=np.float32)
        for j, rows in enumerate(self._rows()):
            k = min(NEIGHBOURS, len(rows))
            if k:
                out[:, j] = np.partition(sims[:, rows], -k, axis=1)[:, -k:].mean(axis=1)
        return out

    def _layout(self) -> tuple[np.ndarray, int] | None:
        """Where each bank row goes in a grid of one row of ``width`` cells per class (the largest
        class's size; the rest stay -inf), or None when some class has fewer than ``NEIGHBOURS``
        rows (the per-class loop then takes fewer neighbours for it)."""
        if self._padded is None:
            rows = self._rows()
            if not rows or min(len(r) for r in rows) < NEIGHBOURS:
                return None
            width = max(len(r) for r in rows)
            where = np.empty(len(self.labels), dtype=np.int64)
            for j, r in enumerate(rows):
                where[r] = j * width + np.arange(len(r))
            self._padded = (where, width)
        return self._padded

    def _rows(self) -> list[np.ndarray]:
        """The bank rows of each class, in ``classes`` order (computed once)."""
        if self._class_rows is None:
            self._class_rows = [np.flatnonzero(self.labels == c) for c in self.classes]
        return self._class_rows


def _dense(vectors: np.ndarray, bank: Bank, self_rows: np.ndarray | None = None) -> np.ndarray:
    return np.hstack([vectors, bank.features(vectors, self_rows)])


def _stack(
    vectors: np.ndarray,
    words: sp.spmatrix,
    chars: sp.spmatrix,
    bank: Bank,
    self_rows: np.ndarray | None = None,
) -> sp.csr_matrix:
    return sp.hstack([sp.csr_matrix(_dense(vectors, bank, self_rows)), words, chars], format="csr")


class DomainClassifier:
    """Two tiers over the same TF-IDF features: tier 1 with distilled static token embeddings
    (~0.5 ms), tier 2 with the full MiniLM (~5 ms). Tier 1 answers only when its margin clears a
    threshold calibrated so that, on the held-out examples it keeps, it is at least as accurate as tier 2 is
    on all of them.
    Tiers mix per text: only the texts tier 1 is unsure of pay for the full model."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        cache_dir: Path | None = None,
        use_knowledge: bool = True,
        tiered: bool = False,
        max_examples: int | None = None,
        tier1_tolerance: float = 0.0,
        max_false_rejection: float = MAX_FALSE_REJECTION,
    ) -> None:
        self.embedder = embedder
        self.max_examples = max_examples
        self.tier1_tolerance = tier1_tolerance
        self.max_false_rejection = max_false_rejection
        self.cache = EmbeddingCache(embedder, cache_dir)
        self.static = StaticEmbedder(embedder, cache_dir) if tiered else None
        self.use_knowledge = use_knowledge
        self.names: list[str] = []
        self.classes: list[str] = []
        self.descriptions: dict[str, str] = {}
        self.calibration = Calibration(unsure_margin=0.0, cv_accuracy=0.0, examples=0)
        self._words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2)
        self._full = _logreg()
        self._fast = _logreg()
        self._bank = Bank(np.zeros((0, 0)), np.array([]), [])
        self._static_bank = self._bank
        self._word_rows: Tfidf
        self._char_rows: Tfidf
        self._full_scorer: LinearScorer
        self._fast_scorer: LinearScorer | None = None
        self.background_used = 0
        self._follow_ups = np.zeros((0, 0), dtype=np.float32)
        self.background_set_aside: list[str] = []  # lines too close to a domain to count as out of scope
        self.domain_stems: frozenset[str] = frozenset()  # every word stem the domains' own texts use
        self.stems_of: dict[str, frozenset[str]] = {}  # each domain's word stems
        self.domain_terms: dict[str, str] = {}  # compound terms only one domain's texts use: its name
        self._decided = VectorLRU()  # the full model's probabilities, by text (see ``predict_tiered``)

    # ---- training ---------------------------------------------------------------------------
    def fit(
        self, domains: Mapping[str, DomainDefinition], background: Sequence[str] | None = None
    ) -> DomainClassifier:
        self.names = sorted(domains)
        self._decided.resize(0)  # decisions of an earlier fit do not hold
        self.descriptions = {n: domains[n].description for n in self.names}
        texts: list[str] = []
        labels: list[str] = []
        weights: list[float] = []
        example_rows: list[int] = []
        core_rows: list[int] = []  # what a team wrote for a domain: description, topics, examples

        def add(text: str, label: str, weight: float, example: bool = False, core: bool = False) -> None:
            if example:
                example_rows.append(len(texts))
            if core or example:
                core_rows.append(len(texts))
            texts.append(text)
            labels.append(label)
            weights.append(weight)

        for name in self.names:
            d = domains[name]
            add(d.description, name, 1.0, core=True)
            for t in description_topics(d.description):
                add(t, name, 1.0, core=True)
            for t in d.examples[: self.max_examples]:
                add(t, name, 1.0, example=True)
            if self.use_knowledge:
                for t in knowledge_sentences(d):
                    add(t, name, KNOWLEDGE_WEIGHT)
            for t in d.counter_examples:
                add(t, OOS, 1.0)
        own: dict[str, set[str]] = {name: set() for name in self.names}
        for t, label in zip(texts, labels, strict=True):
            if label != OOS:
                own[label].update(stem(w) for w in content_words(t))
        self.stems_of = {name: frozenset(said) for name, said in own.items()}
        self.domain_stems = frozenset().union(*self.stems_of.values())
        background = list(background if background is not None else load_lines(BACKGROUND_FILE))
        self.domain_terms = _own_terms(texts, labels, background)
        vectors = self.cache.encode([*texts, *background])
        full, bg = vectors[: len(texts)], vectors[len(texts) :]
        in_domain = full[[i for i, label in enumerate(labels) if label != OOS]]
        if len(bg):
            closest = (bg @ in_domain.T).max(axis=1)
            near = self._like_examples(bg, full, np.array(labels), core_rows, example_rows)
            keep = np.flatnonzero((closest < BACKGROUND_MAX_SIMILARITY) & ~near)
            self.background_used = len(keep)
            kept = set(keep.tolist())
            self.background_set_aside = [b for i, b in enumerate(background) if i not in kept]
            texts += [background[i] for i in keep]
            labels += [OOS] * len(keep)
            weights += [1.0] * len(keep)
            full = np.concatenate([full, bg[keep]], axis=0)
        self._follow_ups = self.cache.encode(load_lines(FOLLOW_UPS_FILE))
        y = np.array(labels)
        w = np.array(weights)
        words = self._words.fit_transform(texts)
        chars = self._chars.fit_transform(texts)
        every = np.arange(len(y))
        classes = sorted(set(labels))
        self._bank = Bank(full, y, classes)
        self._full.fit(_stack(full, words, chars, self._bank, every), y, sample_weight=w)
        self.classes = [str(c) for c in self._full.classes_]
        static = None
        if self.static is not None:
            self.static.fit_idf(texts)
            static = self.static.encode(texts)
            self._static_bank = Bank(static, y, classes)
            self._fast.fit(_stack(static, words, chars, self._static_bank, every), y, sample_weight=w)
        self.calibration = self._calibrate(full, static, words, chars, y, w, example_rows)
        self._word_rows = Tfidf(self._words)
        self._char_rows = Tfidf(self._chars)
        dense = full.shape[1] + len(classes)  # the vector and one neighbour feature per class
        self._full_scorer = LinearScorer(self._full, dense, words.shape[1], chars.shape[1])
        if OOS in self.classes:
            self._full_scorer.intercept[self.classes.index(OOS)] += self.calibration.oos_offset
        if static is not None:
            self._fast_scorer = LinearScorer(self._fast, dense, words.shape[1], chars.shape[1])
            if OOS in self.classes:
                self._fast_scorer.intercept[self.classes.index(OOS)] += self.calibration.fast_oos_offset
        return self

    def _like_examples(
        self, bg: np.ndarray, full: np.ndarray, y: np.ndarray, core_rows: list[int], example_rows: list[int]
    ) -> np.ndarray:
        """Which background lines a domain would count as its own: as close to the domain's own texts
        (mean similarity of the ``NEIGHBOURS`` nearest) as its least typical examples are to the
        rest of them (the ``max_false_rejection`` quantile, leave-one-out). Labelled out of scope,
        such lines would teach the guard to reject that domain's questions."""
        near = np.zeros(len(bg), dtype=bool)
        core = np.array(core_rows)
        examples = set(example_rows)
        for name in self.names:
            rows = core[y[core] == name]
            own = np.array([i for i, r in enumerate(rows) if r in examples])
            if len(rows) <= NEIGHBOURS or not len(own):
                continue
            bank = Bank(full[rows], np.full(len(rows), name), [name])
            typical = bank.features(full[rows][own], self_rows=own)[:, 0]  # leave-one-out
            bar = float(np.quantile(typical, self.max_false_rejection))
            near |= bank.features(bg)[:, 0] >= bar
        return near

    def _calibrate(
        self,
        full: np.ndarray,
        static: np.ndarray | None,
        words: sp.csr_matrix,
        chars: sp.csr_matrix,
        y: np.ndarray,
        w: np.ndarray,
        example_rows: list[int],
    ) -> Calibration:
        """3-fold cross-validation on the example utterances (vocabularies fixed, models refit).

        The unsure band is the margin under which held-out examples were wrong (80th percentile),
        capped so that at most 15% of examples fall into it. Tier 1's margin is the lowest at which
        its held-out accuracy on the examples it would keep is at least tier 2's on those same
        examples, less ``tier1_tolerance``: with 0, tier 1 answers only where it does as well as the
        full model."""
        rows = np.array(example_rows)
        folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
        classes = self._bank.classes
        held: list[np.ndarray] = []
        logp: dict[str, list[np.ndarray]] = {"full": [], "fast": []}
        every = np.arange(len(y))
        for _train, test in folds.split(rows, y[rows]):
            held_out = rows[test]
            held.append(y[held_out])
            train = np.setdiff1d(every, held_out)
            for tier, vectors in (("full", full), ("fast", static)):
                if vectors is None:
                    continue
                bank = Bank(vectors[train], y[train], classes)
                model = _logreg().fit(
                    _stack(vectors[train], words[train], chars[train], bank, np.arange(len(train))),
                    y[train],
                    w[train],
                )
                probs = model.predict_proba(_stack(vectors[held_out], words[held_out], chars[held_out], bank))
                logp[tier].append(np.log(np.clip(_columns(probs, model.classes_, classes), 1e-12, None)))
        gold = np.concatenate(held)
        full_logp = np.vstack(logp["full"])
        rejected = _rejection_margins(full_logp, classes)
        offset = _oos_offset(rejected, self.max_false_rejection)
        fast_offset = 0.0
        m, ok = _margins(full_logp, classes, offset, gold)
        wrong = m[~ok]
        band = float(np.quantile(wrong, 0.8)) if len(wrong) else 0.0
        band = min(band, float(np.quantile(m, 0.15)))
        accuracy = float(ok.mean())
        tier1, coverage = float("inf"), 0.0
        if logp["fast"]:
            fast_logp = np.vstack(logp["fast"])
            fast_offset = _oos_offset(_rejection_margins(fast_logp, classes), self.max_false_rejection)
            fm, fc = _margins(fast_logp, classes, fast_offset, gold)
            for cut in np.unique(fm):
                sel = fm >= cut
                if fc[sel].mean() >= ok[sel].mean() - self.tier1_tolerance:
                    tier1, coverage = max(float(cut), band), float(sel.mean())
                    break
        return Calibration(
            unsure_margin=round(band, 4),
            cv_accuracy=round(accuracy, 4),
            examples=len(m),
            tier1_margin=round(tier1, 4),
            tier1_coverage=round(coverage, 4),
            oos_offset=round(offset, 4),
            fast_oos_offset=round(fast_offset, 4),
            cv_rejected=round(float((rejected > 0).mean()), 4) if len(rejected) else 0.0,
        )

    # ---- inference --------------------------------------------------------------------------
    def dependent(self, vectors: np.ndarray) -> np.ndarray:
        """Which texts (rows: full-model vectors) are generic follow-ups ("is that normal?", "how
        much?", "who do I contact?"): a paraphrase of a line of the shipped list. Such a part leans
        on the part before it, so it cannot open a domain of its own when a query is split."""
        if not len(vectors) or not len(self._follow_ups):
            return np.zeros(len(vectors), dtype=bool)
        return np.asarray((vectors @ self._follow_ups.T).max(axis=1) >= FOLLOW_UP_SIMILARITY)

    def predict_tiered(
        self, texts: Sequence[str], composed: dict[str, np.ndarray] | None = None
    ) -> Prediction:
        """Class probabilities (rows: texts; columns: ``self.classes``), the highest tier used, and
        the full-model vectors computed on the way (by text), which downstream hops can reuse.
        ``composed`` holds stand-in vectors for some texts (not embedded, and not returned).

        The full model's probabilities of a text are kept by exact text beside its vector, which
        the embedder keeps (as many texts: ``ACCEL_EMBEDDING_CACHE``). A text gets the same vector
        every time it runs alone, so a repeated question gets the same probabilities, now without
        the neighbour product over the bank (a few hundred µs once other processes have pushed the
        bank out of the caches) or the scoring."""
        composed = composed or {}
        recent = self.embedder.recent
        self._decided.resize(recent.size)
        if texts and self._decided.size and not any(t in composed for t in texts):
            probs = [self._decided.get(t) for t in texts]
            vectors = [recent.get(t) for t in texts] if all(p is not None for p in probs) else []
            if vectors and all(v is not None for v in vectors):
                return Prediction(
                    np.stack([p for p in probs if p is not None]),
                    2,
                    {t: v for t, v in zip(texts, vectors, strict=True) if v is not None},
                )
        prediction = self._predict(texts, composed)
        if prediction.tier == 2 and self._decided.size:
            for i, t in enumerate(texts):
                if t in prediction.vectors:  # embedded here, decided by the full model
                    self._decided.put(t, prediction.probs[i])
        return prediction

    def _predict(self, texts: Sequence[str], composed: dict[str, np.ndarray]) -> Prediction:
        words = [self._word_rows.row(t) for t in texts]
        chars = [self._char_rows.row(t) for t in texts]
        slow = np.arange(len(texts))
        probs = np.zeros((len(texts), len(self.classes)))
        fast = self._fast_scorer
        if self.static is not None and fast is not None and np.isfinite(self.calibration.tier1_margin):
            probs = fast.proba(_dense(self.static.encode(texts), self._static_bank), words, chars)
            top2 = np.sort(probs, axis=1)[:, -2:]
            slow = np.flatnonzero(top2[:, 1] - top2[:, 0] < self.calibration.tier1_margin)
            if not len(slow):
                return Prediction(probs, 1, {})
        slow_texts = [texts[int(i)] for i in slow]
        todo = [t for t in slow_texts if t not in composed]
        embedded = dict(zip(todo, self.embedder.encode(todo), strict=True))
        vectors = np.stack([composed[t] if t in composed else embedded[t] for t in slow_texts])
        probs[slow] = self._full_scorer.proba(
            _dense(vectors, self._bank), [words[i] for i in slow], [chars[i] for i in slow]
        )
        return Prediction(probs, 2, embedded)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.predict_tiered(texts).probs

    def scores(self, text: str) -> dict[str, float]:
        probs = self.predict([text])[0]
        return {c: round(float(p), 4) for c, p in zip(self.classes, probs, strict=True)}
