"""Chinese tokenization: jieba with the project's domain dictionary.

`tokenize` is a plain module-level function so that a fitted TfidfVectorizer that uses it
pickles with the model. The dictionary is built once per process, on first use (or by
`initialize()`, which a server calls before forking its workers).

Two backends give jieba's tokens: `rjieba` (jieba-rs, the Rust port, about ten times faster;
the default) and `jieba` (the Python original). Choose with the environment variable
FAZHI_TOKENIZER=jieba|rjieba; both load the same domain dictionary. On the labelled data they
give 99.98 % identical tokens and the same cross-validated accuracy (equal, or +0.003 macro-F1
for rjieba; benchmarks/RESULTS.md).

A command whose whole input is short (`expect_characters`: a one-line `fazhi classify`) cuts it
with an rjieba tokenizer that holds only its words (fazhi.lexicon): the same tokens, without
building the whole dictionary, which takes longer than the rest of such a command's start-up.
Every other process (the service, the batch, a long input) loads the whole dictionary as before.
"""
from __future__ import annotations

import os
import re
import threading
import unicodedata
from functools import partial
from itertools import chain, compress

import numpy as np

from fazhi import lexicon
from fazhi.paths import USER_DICT_FILE

BACKENDS = ("jieba", "rjieba")
DEFAULT_BACKEND = "rjieba"  # jieba's tokens and accuracy (training/tokenizer_effect.py), ~15x faster
BACKEND_ENV = "FAZHI_TOKENIZER"

_lock = threading.Lock()
_dictionary_lock = threading.Lock()
_cut = None       # the loaded backend's cut function: str -> list[str]
_loaded = None    # (backend, user_dict) of what is loaded

# Characters a process may cut with a tokenizer of their own words before it loads the whole
# dictionary: that costs ~0.04 s per 1,000 characters, the whole dictionary ~0.12-0.2 s.
TEXT_WORDS_BUDGET = 1_000
_text_words = None        # the lexicon.TextWordsTokenizer, once opened; False: none to be had
_text_words_wanted = False
_text_words_spent = 0


def expect_characters(n_chars: int) -> None:
    """Say how many characters this process will cut in all: if few enough, they are cut
    with a tokenizer of their own words instead of the whole dictionary (the same tokens).
    Only a caller that knows its whole input (a command) can say; without it, the whole
    dictionary is loaded at the first cut, as before."""
    global _text_words_wanted
    _text_words_wanted = n_chars <= TEXT_WORDS_BUDGET


def _user_words():
    """(word, frequency, tag) of each line of the domain dictionary."""
    return lexicon.dictionary_entries(USER_DICT_FILE)


_rjieba_has_user_words = False


def build_tokenizer(backend: str, user_dict: bool = True):
    """A cut function (str -> list[str]) of the named backend; `initialize` keeps one."""
    global _rjieba_has_user_words
    if backend == "rjieba":
        import rjieba

        if not user_dict:
            return partial(rjieba.Jieba().cut, hmm=True)
        # `import rjieba` already builds its default dictionary (its module-level instance,
        # behind rjieba.cut and rjieba.add_word): the domain words go into that one instead of
        # a second instance, which would cost as much again at every start. Added once per
        # process: the same dictionary, so the same tokens, as a fresh instance with them.
        with _dictionary_lock:
            if not _rjieba_has_user_words:
                for word, freq, tag in _user_words():
                    rjieba.add_word(word, freq, tag)
                _rjieba_has_user_words = True
        return partial(rjieba.cut, hmm=True)
    import jieba

    # jieba prints "Building prefix dict…" at INFO on every start; silence it.
    jieba.setLogLevel("WARNING")
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    if user_dict:
        with open(USER_DICT_FILE, "rb") as fh:  # jieba leaves a path it opens unclosed
            tokenizer.load_userdict(fh)
    return partial(tokenizer.lcut, HMM=True)


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


# The full-width forms of ASCII (U+FF01–FF5E: ，：（１）), the usual reason a report's text is not
# in NFKC. NFKC decomposes every character before it composes, and each of these decomposes
# to one ASCII character, so mapping them first leaves the same NFKC, at a fraction of the cost.
_FULL_WIDTH = str.maketrans({c: unicodedata.normalize("NFKC", chr(c)) for c in range(0xFF01, 0xFF5F)})


def normalize(text: str) -> str:
    """Fold full-width ASCII forms (，：（１） and similar) onto their half-width twins (NFKC)."""
    # Most report text is in NFKC already, or after mapping its full-width forms: checking is
    # ~20x cheaper than normalizing.
    if unicodedata.is_normalized("NFKC", text):
        return text
    text = text.translate(_FULL_WIDTH)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def _cut_for(text: str):
    """The cut function for `text`: the loaded dictionary's; before one is loaded, in a process
    that expects few characters (`expect_characters`), with the default backend, a tokenizer of
    the input's own words (same tokens)."""
    global _text_words_spent
    if _cut is not None:
        return _cut
    with _lock:
        if (_text_words_wanted and _loaded is None and _text_words_spent + len(text) <= TEXT_WORDS_BUDGET
                and configured_backend() == "rjieba" and lexicon.PLACEHOLDER not in text):
            words = _text_words_tokenizer()
            if words:
                _text_words_spent += len(text)
                return partial(_cut_by_text_words, words)
    return initialize()


def _cut_by_text_words(words: "lexicon.TextWordsTokenizer", text: str) -> list[str]:
    """`words.cut(text)`; if its index cannot be read any more, the whole dictionary's cut."""
    global _text_words
    try:
        return words.cut(text)
    except lexicon.UnreadableIndex:
        import logging  # only here: importing it costs a one-line command's start-up ~10 ms

        logging.getLogger(__name__).warning("tokenizer word index unreadable; loading the whole dictionary")
        _text_words = False
        return initialize()(text)


def _text_words_tokenizer():
    """The tokenizer of texts' own words (called holding _lock), or None where it cannot be had
    or, checked when its index was built, did not cut as the whole dictionary does."""
    global _text_words
    if _text_words is None:
        opened = lexicon.open_index()
        _text_words = False
        if opened:
            index, built = opened
            if built:
                index.mark_checked(_cuts_as_whole_dictionary(index))
            if index.checked:
                _text_words = lexicon.TextWordsTokenizer(index)
    return _text_words or None


def _cuts_as_whole_dictionary(index: "lexicon.Lexicon", every: int = 25) -> bool:
    """Whether a tokenizer of the index's words cuts, and weighs, as rjieba's whole dictionary
    with the domain words: on every 25th dictionary word and on pairs of them, the same tokens
    and the same suggested frequency (which reads each word's frequency and the total)."""
    import rjieba

    whole = build_tokenizer("rjieba")
    sample = index.words()[::every]
    segments = sample + [a + b for a, b in zip(sample, sample[1:])]
    words = lexicon.TextWordsTokenizer(index)
    return all(words.cut(s) == whole(s) and words.suggest_freq(s) == rjieba.suggest_freq(s)
               for s in segments)


def tokenize(text: str) -> list[str]:
    """Tokens of a sentence, without whitespace tokens."""
    text = normalize(text)
    return [t for t in _cut_for(text)(text) if not t.isspace()]


# Joins the texts of a batch for one call of the tokenizer. jieba (either backend) cuts a text
# into runs of CJK, letters and digits, and splits the rest at whitespace, then segments each
# run on its own: a newline ends every run, so no token but a whitespace one spans it.
_BATCH_SEPARATOR = "\n"
_WHITESPACE = re.compile(r"\s")


def tokenize_all(texts, normalized: bool = False) -> tuple[list[str], np.ndarray]:
    """The tokens of each text as `tokenize` gives them, from one call of the tokenizer for
    the whole batch: all tokens in order, and the index of the text each one belongs to.

    Cutting one joined text instead of each sentence saves the per-call cost (a quarter to a
    third of rjieba's time on report sentences). The tokens partition the joined text, and no token
    that is not whitespace spans a separator; where texts hold whitespace of their own, the
    tokens are placed by their offsets, and if a text did not start on a token boundary
    (never seen) the texts are cut one by one. `normalized`: the texts are normalized already.
    """
    texts = list(texts) if normalized else [normalize(t) for t in texts]
    joined = _BATCH_SEPARATOR.join(texts)
    cut = _cut_for(joined)
    n_spaces = len(_WHITESPACE.findall(joined))  # counting is half the cost of placing them
    if n_spaces > len(texts) - 1 and len(texts) > 1:
        # Whitespace of the texts' own (not a separator, which ends the text before it): where
        # few texts hold it, those are cut one by one and the others in one call as below.
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        ends = np.cumsum(lengths + len(_BATCH_SEPARATOR)) - len(_BATCH_SEPARATOR)
        spaces = np.array([m.start() for m in _WHITESPACE.finditer(joined)], dtype=np.int64)
        of = np.searchsorted(ends, spaces)
        spaced = sorted(set(of[spaces != ends[np.minimum(of, len(ends) - 1)]].tolist()))
        if len(spaced) * 8 <= len(texts):
            blanked = list(texts)
            for i in spaced:
                blanked[i] = ""
            tokens, text_of = tokenize_all(blanked, normalized=True)
            return _inserted(tokens, text_of, len(texts),
                             {i: [t for t in cut(texts[i]) if not t.isspace()] for i in spaced})
    tokens = cut(joined)
    if n_spaces == len(texts) - 1 and len(texts) > 1:
        # No whitespace but the separators, each its own token: cut the list at them.
        bounds, at, find = [-1], -1, tokens.index
        for _ in range(len(texts) - 1):
            at = find(_BATCH_SEPARATOR, at + 1)
            bounds.append(at)
        bounds.append(len(tokens))
        kept = list(chain.from_iterable(tokens[a + 1:b] for a, b in zip(bounds, bounds[1:])))
        return kept, np.repeat(np.arange(len(texts)), np.diff(bounds) - 1)
    space = np.fromiter(map(str.isspace, tokens), dtype=bool, count=len(tokens))
    words = ~space
    kept = list(compress(tokens, words.tolist()))
    if len(tokens) - len(kept) == max(len(texts) - 1, 0):
        # Every whitespace token holds a separator (and at most a text's final "\r" besides):
        # the separators before a token number its text.
        return kept, np.cumsum(space)[words]
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    token_starts = np.cumsum(lengths) - lengths
    text_lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    text_starts = np.cumsum(text_lengths + len(_BATCH_SEPARATOR)) - text_lengths - len(_BATCH_SEPARATOR)
    found = np.minimum(np.searchsorted(token_starts, text_starts), max(len(tokens) - 1, 0))
    if len(tokens) and not np.all((token_starts[found] == text_starts) | (text_lengths == 0)):
        per_text = [[t for t in cut(x) if not t.isspace()] for x in texts]
        return ([t for ts in per_text for t in ts],
                np.repeat(np.arange(len(texts)), [len(ts) for ts in per_text]))
    return kept, np.searchsorted(text_starts, token_starts[words], side="right") - 1


def _inserted(tokens: list[str], text_of: np.ndarray, n_texts: int, more: dict[int, list[str]]):
    """The tokens of texts that have none among `tokens` (the tokens of each text `more` names)
    put in their places: all tokens in order, and the text of each."""
    pieces, done = [], 0
    for i, at in zip(sorted(more), np.searchsorted(text_of, sorted(more)).tolist()):
        pieces += [tokens[done:at], more[i]]
        done = at
    pieces.append(tokens[done:])
    counts = np.bincount(text_of, minlength=n_texts)
    counts[sorted(more)] = [len(more[i]) for i in sorted(more)]
    return list(chain.from_iterable(pieces)), np.repeat(np.arange(n_texts), counts)
