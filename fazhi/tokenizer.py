"""Chinese tokenization: jieba with the project's domain dictionary.

`tokenize` is a plain module-level function so that a fitted TfidfVectorizer that uses it
pickles with the model. The dictionary is built once per process, on first use (or by
`initialize()`, which a server calls before forking its workers).

Two backends give jieba's tokens: `rjieba` (jieba-rs, the Rust port, about ten times faster;
the default) and `jieba` (the Python original). Choose with the environment variable
FAZHI_TOKENIZER=jieba|rjieba; both load the same domain dictionary. On the labelled data they
give 99.98 % identical tokens and the same cross-validated accuracy (equal, or +0.003 macro-F1
for rjieba; benchmarks/RESULTS.md).
"""
from __future__ import annotations

import logging
import os
import threading
import unicodedata

from fazhi.paths import USER_DICT_FILE

BACKENDS = ("jieba", "rjieba")
DEFAULT_BACKEND = "rjieba"  # jieba's tokens and accuracy (training/tokenizer_effect.py), ~15x faster
BACKEND_ENV = "FAZHI_TOKENIZER"

_lock = threading.Lock()
_cut = None       # the loaded backend's cut function: str -> list[str]
_loaded = None    # (backend, user_dict) of what is loaded


def _user_words():
    """(word, frequency, tag) of each line of the domain dictionary."""
    with open(USER_DICT_FILE, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if parts:
                yield parts[0], int(parts[1]) if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None


def build_tokenizer(backend: str, user_dict: bool = True):
    """A fresh cut function (str -> list[str]) of the named backend; `initialize` keeps one."""
    if backend == "rjieba":
        import rjieba

        tokenizer = rjieba.Jieba()
        if user_dict:
            for word, freq, tag in _user_words():
                tokenizer.add_word(word, freq, tag)
        return lambda text: tokenizer.cut(text, hmm=True)
    import jieba

    # jieba prints "Building prefix dict…" at INFO on every start; silence it.
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    if user_dict:
        with open(USER_DICT_FILE, "rb") as fh:  # jieba leaves a path it opens unclosed
            tokenizer.load_userdict(fh)
    return lambda text: tokenizer.lcut(text, HMM=True)


def configured_backend() -> str:
    backend = os.environ.get(BACKEND_ENV, DEFAULT_BACKEND).strip() or DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise ValueError(f"{BACKEND_ENV}={backend!r}: choose one of {', '.join(BACKENDS)}")
    return backend


def initialize(*, backend: str | None = None, user_dict: bool = True):
    """Load the tokenizer (the configured backend unless named) once for this process.

    `user_dict=False` exists only to measure what the domain dictionary is worth
    (training/tokenizer_effect.py); naming a backend switches to it (benchmarks).
    """
    global _cut, _loaded
    wanted = (backend or configured_backend(), user_dict)
    with _lock:
        if _loaded != wanted:
            _cut = build_tokenizer(*wanted)
            _loaded = wanted
    return _cut


def normalize(text: str) -> str:
    """Fold full-width ASCII forms (，：（１） and similar) onto their half-width twins."""
    return unicodedata.normalize("NFKC", text)


def tokenize(text: str) -> list[str]:
    """Tokens of a sentence, without whitespace tokens."""
    cut = _cut or initialize()
    return [t for t in cut(normalize(text)) if not t.isspace()]
