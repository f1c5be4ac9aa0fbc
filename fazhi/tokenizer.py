"""Chinese tokenization: jieba with the project's domain dictionary.

`tokenize` is a plain module-level function so that a fitted TfidfVectorizer that uses it
pickles with the model. jieba's dictionary is built once per process, on first use (or by
`initialize()`, which a server calls before forking its workers).
"""
from __future__ import annotations

import logging
import threading
import unicodedata

from fazhi.paths import USER_DICT_FILE

_lock = threading.Lock()
_tokenizer = None


def _build():
    import jieba

    # jieba prints "Building prefix dict…" at INFO on every start; silence it.
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    tokenizer.load_userdict(str(USER_DICT_FILE))
    return tokenizer


def initialize():
    """Load jieba's dictionary and the domain dictionary once for this process."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                _tokenizer = _build()
    return _tokenizer


def normalize(text: str) -> str:
    """Fold full-width ASCII forms (，：（１） and similar) onto their half-width twins."""
    return unicodedata.normalize("NFKC", text)


def tokenize(text: str) -> list[str]:
    """Tokens of a sentence, without whitespace tokens."""
    return [t for t in initialize().lcut(normalize(text), HMM=True) if not t.isspace()]
