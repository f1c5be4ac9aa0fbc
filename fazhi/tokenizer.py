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


def _build(user_dict: bool):
    import jieba

    # jieba prints "Building prefix dict…" at INFO on every start; silence it.
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    if user_dict:
        tokenizer.load_userdict(str(USER_DICT_FILE))
    return tokenizer


def initialize(*, user_dict: bool = True):
    """Load jieba's dictionary and the domain dictionary once for this process.

    `user_dict=False` (a fresh tokenizer without the domain dictionary) exists only to measure
    what the dictionary is worth; see training/dictionary_effect.py.
    """
    global _tokenizer
    with _lock:
        if _tokenizer is None or getattr(_tokenizer, "_fazhi_user_dict", True) != user_dict:
            _tokenizer = _build(user_dict)
            _tokenizer._fazhi_user_dict = user_dict
    return _tokenizer


def normalize(text: str) -> str:
    """Fold full-width ASCII forms (，：（１） and similar) onto their half-width twins."""
    return unicodedata.normalize("NFKC", text)


def tokenize(text: str) -> list[str]:
    """Tokens of a sentence, without whitespace tokens."""
    tokenizer = _tokenizer or initialize()
    return [t for t in tokenizer.lcut(normalize(text), HMM=True) if not t.isspace()]
