"""The arithmetic of the sentence features, in numpy only.

Shared by the scikit-learn transformers that training fits (fazhi/features.py) and the
compiled predictor that serves a trained model (fazhi/inference.py), so that both compute
exactly the same numbers and serving never has to import scikit-learn.
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager

import numpy as np
from scipy import sparse

from fazhi.tokenizer import normalize, tokenize

_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def fold_digits(text: str) -> str:
    """NFKC, then every number becomes "0": "43件" and "7件" are the same feature."""
    return _DIGITS.sub("0", normalize(text))


_shared = threading.local()
_TOKEN_SEPARATOR = "\x00"


@contextmanager
def shared_tokens():
    """Within this block, each distinct text is tokenized once, and the character n-grams of
    the same batch of texts are counted once, however many pipelines (area and category) ask
    for them. Scoped to one call, so memory stays bounded and nothing is cached across
    documents."""
    outer = getattr(_shared, "cache", None)
    outer_counts = getattr(_shared, "char_counts", None)
    _shared.cache = {} if outer is None else outer
    _shared.char_counts = {} if outer_counts is None else outer_counts
    try:
        yield
    finally:
        _shared.cache = outer
        _shared.char_counts = outer_counts


def word_tokens(text: str) -> list[str]:
    """jieba tokens with numbers folded (a module-level function, so it pickles)."""
    cache = getattr(_shared, "cache", None)
    if cache is not None and text in cache:
        return cache[text]
    # One substitution over the tokens joined by a separator that no number spans, instead of
    # one per token: the same tokens, folded.
    raw = tokenize(text)
    if raw and _TOKEN_SEPARATOR not in text:
        tokens = _DIGITS.sub("0", _TOKEN_SEPARATOR.join(raw)).split(_TOKEN_SEPARATOR)
    else:
        tokens = [_DIGITS.sub("0", t) for t in raw]
    if cache is not None:
        cache[text] = tokens
    return tokens


def word_ngrams(tokens: list[str], ngram_range: tuple[int, int]) -> list[str]:
    """Word n-grams joined by a space, in scikit-learn's order (its `_word_ngrams`)."""
    low, high = ngram_range
    grams = list(tokens) if low == 1 else []
    if low <= 2 <= high:  # the common case, without a join per bigram
        grams.extend([f"{a} {b}" for a, b in zip(tokens, tokens[1:])])
    for n in range(max(low, 3), min(high, len(tokens)) + 1):
        grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return grams


def tfidf_rows(counts: sparse.csr_matrix, idf: np.ndarray, sublinear_tf: bool) -> sparse.csr_matrix:
    """Raw counts (canonical CSR) → (1 + log) tf · idf, each row scaled to unit length."""
    data = counts.data.astype(np.float64)
    if sublinear_tf:
        data = np.log(data) + 1.0
    data *= idf[counts.indices]
    row_of = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    norms = np.sqrt(np.bincount(row_of, weights=data * data, minlength=counts.shape[0]))
    norms[norms == 0] = 1.0
    data /= norms[row_of]
    return sparse.csr_matrix((data, counts.indices.copy(), counts.indptr.copy()), shape=counts.shape)


def word_counts(texts, vocabulary: dict[str, int], ngram_range: tuple[int, int]) -> sparse.csr_matrix:
    """Counts of the known word n-grams of each text (unknown ones are dropped), canonical CSR."""
    get = vocabulary.get
    columns, lengths = [], []
    for text in texts:
        found = [c for c in map(get, word_ngrams(word_tokens(text), ngram_range)) if c is not None]
        columns.extend(found)
        lengths.append(len(found))
    rows = np.repeat(np.arange(len(lengths)), lengths)
    counts = sparse.csr_matrix((np.ones(len(columns)), (rows, np.asarray(columns, dtype=np.int64))),
                               shape=(len(lengths), len(vocabulary)))
    counts.sum_duplicates()  # canonical: sorted columns, each once, with its count
    return counts


def char_ngram_counts(texts, ngram_range: tuple[int, int], n_buckets: int) -> sparse.csr_matrix:
    """Counts of hashed character n-grams (digits folded), for all texts in one numpy pass;
    inside `shared_tokens`, once per batch of texts and settings (callers only read it)."""
    cache = getattr(_shared, "char_counts", None)
    if cache is None:
        return _char_ngram_counts(texts, ngram_range, n_buckets)
    key = (tuple(ngram_range), n_buckets, tuple(texts))
    if key not in cache:
        cache[key] = _char_ngram_counts(texts, ngram_range, n_buckets)
    return cache[key]


def _char_ngram_counts(texts, ngram_range: tuple[int, int], n_buckets: int) -> sparse.csr_matrix:
    texts = [fold_digits(x) for x in texts]
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    # One array of code points for all texts; doc_of[i] is the text of position i.
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    doc_of = np.repeat(np.arange(len(texts)), lengths)
    low, high = ngram_range
    rows, cols = [], []
    for n in range(low, high + 1):
        if len(codes) < n:
            break
        h = np.zeros(len(codes) - n + 1, dtype=np.uint64)
        for k in range(n):  # polynomial hash of the n code points starting at each position
            h = h * np.uint64(1_000_003) + codes[k:len(codes) - n + 1 + k]
        h = h * np.uint64(31) + np.uint64(n)
        starts = doc_of[:len(h)]
        inside = starts == doc_of[n - 1:]  # an n-gram must not span two texts
        rows.append(starts[inside])
        cols.append((h[inside] % np.uint64(n_buckets)).astype(np.int64))
    rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    counts = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), n_buckets))
    counts.sum_duplicates()
    return counts


# Specificity cues: each is an auditor's anchor from the labelling guide.
CUES = {
    "number": re.compile(r"\d"),
    "count": re.compile(r"\d+(?:\.\d+)?\s*(?:余|多)?\s*(?:件|项|次|人次|人|名|家|个|场|期|批|条|份|篇|户|起|宗|卷|所|座|台|套|"
                        r"学时|课时|小时|天|万|亿)"),
    "amount": re.compile(r"\d+(?:\.\d+)?\s*(?:万|亿)?\s*元"),
    "percent": re.compile(r"\d+(?:\.\d+)?\s*[%％]|百分之"),
    "title": re.compile(r"《[^》]{2,80}》"),
    "doc_number": re.compile(r"[〔\[［(（]\s*(?:19|20)\d{2}\s*[〕\]］)）]\s*\d+\s*号"),
    "date": re.compile(r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月|\d{1,2}\s*月\s*\d{1,2}\s*日"),
    "year": re.compile(r"(?:19|20)\d{2}\s*年"),
    "quoted_name": re.compile(r"[“\"][^”\"]{2,20}[”\"]"),
    # A named actor opening a clause (市公安局, 区司法局, 永川区, 川渝两地税务部门) and a completed,
    # checkable act of it in the same clause: the guide's "ordinary body … stating a completed act".
    "actor_act": re.compile(
        r"(?:^|[，,；;。：:])\s*(?:(?:[省市区县州]|重庆市|[^\W\d_]{2,4}[省市])[^\W\d_]{1,9}?(?:局|委|厅|办|院|中心|部门)"
        r"|[^\W\d_]{2,4}(?:区|县|镇|乡|街道)(?![^\W\d_]*(?:各|全))|[^\W\d_]{2,6}两地[^\W\d_]{1,8}?部门)"
        r"[^，,；;。]{0,30}?(?:建立|建成|制定|出台|印发|修订|上线|开发|完成|组建|设立|实现|召开|举办|编印|发布|委托"
        r"|查处|破获|推行|实行|下放|联合开展|开展)"),
}
# Titles whose name is generic (the taxonomy's `generic_titles`) are counted apart from "title".
GENERIC_TITLE_CUE = "generic_title"
# Cues that anchor a sentence on their own (the guide's verifiable anchors); "anchored" is 1
# when any of them or a named actor's completed act is present (the guide's clarification 9):
# the anchor-cue rule as one feature.
ANCHOR_CUES = ("count", "amount", "percent", "title", "doc_number", "date")
ANCHORED_BY = (*ANCHOR_CUES, "actor_act")
ANCHORED_CUE = "anchored"
CUE_NAMES = (*CUES, GENERIC_TITLE_CUE, ANCHORED_CUE)
_BRACKETED = re.compile(r"[(（][^)）]*[)）]")


def _is_generic_title(title: str, generic_titles) -> bool:
    """《法治政府建设实施纲要（2021—2025年）》 is the outline however its years are printed."""
    return _BRACKETED.sub("", title[1:-1]).strip() in generic_titles


def _anchored(text: str, generic_titles) -> bool:
    """Whether any anchoring cue is present, looking no further than the first one found."""
    for name in ANCHORED_BY:
        if name == "title":
            if any(not _is_generic_title(t, generic_titles) for t in CUES["title"].findall(text)):
                return True
        elif CUES[name].search(text):
            return True
    return False


def cue_counts(text: str, generic_titles=(), names=CUE_NAMES) -> dict[str, int]:
    """The counts of the named cues (all by default); a model that reads only a few asks for
    those, and the others are never searched for."""
    wanted = set(names)
    needed = {name for name in wanted if name in CUES}
    if GENERIC_TITLE_CUE in wanted:
        needed.add("title")
    counts = {name: len(CUES[name].findall(text)) for name in needed if name != "title"}
    if "title" in needed:
        titles = CUES["title"].findall(text)
        generic = sum(_is_generic_title(t, generic_titles) for t in titles)
        counts["title"] = len(titles) - generic
        counts[GENERIC_TITLE_CUE] = generic
    if ANCHORED_CUE in wanted:
        counts[ANCHORED_CUE] = int(_anchored(text, generic_titles))
    return counts


def cue_matrix(texts, generic_titles=(), names=CUE_NAMES) -> sparse.csr_matrix:
    """log(1 + count) of the named specificity cues, one row per text. A fitted model passes
    the names it was trained with, so cues added later never shift its columns."""
    rows = [[np.log1p(counts[name]) for name in names]
            for counts in (cue_counts(normalize(x), generic_titles, names) for x in texts)]
    return sparse.csr_matrix(np.asarray(rows, dtype=np.float64).reshape(len(rows), len(names)))


_HASH_BASE = np.uint64(1_000_003)
_CHECK_BASE = np.uint64(2_147_483_659)


def _polynomial_hash(word: str, base: np.uint64) -> int:
    """The hash `KeywordMatcher` computes with numpy (uint64 arithmetic wraps the same way)."""
    value = 0
    for ch in word:
        value = (value * int(base) + ord(ch)) % (1 << 64)
    return value


class KeywordMatcher:
    """Per area, log(1 + characters of that area's keywords found in a text).

    A keyword counts once per text, found where it is the longest keyword starting at some
    position (as a regular expression of the keywords, longest first, tried at every position
    would find it). All texts are searched at once with numpy: for each keyword length, the
    hash of every substring of that length is looked up among the keywords' hashes, and each
    hit is confirmed on the text itself. The tables are built on first use and never pickled.
    """

    def __init__(self, keywords: dict[str, list[str]]):
        self.keywords = keywords
        self._compiled = None

    def _matcher(self):
        if self._compiled is None:
            words = sorted({k for ws in self.keywords.values() for k in ws if k}, key=len, reverse=True)
            # weights[k, j]: the characters keyword k adds to area j's column when found.
            weights = np.array([[len(k) if k in ws else 0 for ws in self.keywords.values()] for k in words],
                               dtype=np.float64).reshape(len(words), len(self.keywords))
            by_length = {}
            for index, word in enumerate(words):
                by_length.setdefault(len(word), []).append(
                    (_polynomial_hash(word, _HASH_BASE), _polynomial_hash(word, _CHECK_BASE), index))
            tables = []
            for length in sorted(by_length, reverse=True):
                first, second, indices = zip(*sorted(by_length[length]))
                tables.append((length, np.array(first, dtype=np.uint64), np.array(second, dtype=np.uint64),
                               np.array(indices)))
            self._compiled = (len(words), sparse.csr_matrix(weights), tables)
        return self._compiled

    def matrix(self, texts) -> sparse.csr_matrix:
        n_words, weights, tables = self._matcher()
        texts = [normalize(t) for t in texts]
        codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        doc_of = np.repeat(np.arange(len(texts)), [len(t) for t in texts])
        taken = np.zeros(len(codes), dtype=bool)  # a longer keyword already starts here
        # The hash of the substring of each length at each position, built up one length at a
        # time: hashes[n][i] covers codes[i:i + n].
        longest = min(tables[0][0], len(codes)) if tables else 0
        hashes = {}
        h = np.zeros(len(codes), dtype=np.uint64)
        for n in range(1, longest + 1):
            h = h[:len(codes) - n + 1] * _HASH_BASE + codes[n - 1:]
            hashes[n] = h
        docs, words = [], []
        for length, first, second, indices in tables:
            if length > longest:
                continue
            h1 = hashes[length]
            span = len(h1)
            at = np.minimum(np.searchsorted(first, h1), len(first) - 1)
            candidates = np.flatnonzero((first[at] == h1) & (doc_of[:span] == doc_of[length - 1:]) & ~taken[:span])
            # A second, independent hash confirms each candidate (two 64-bit hashes colliding
            # by chance is not a concern), computed only where the first one matched.
            h2 = np.zeros(len(candidates), dtype=np.uint64)
            for k in range(length):
                h2 = h2 * _CHECK_BASE + codes[candidates + k]
            hit = candidates[second[at[candidates]] == h2]
            taken[hit] = True
            docs.append(doc_of[hit])
            words.append(indices[at[hit]])
        docs = np.concatenate(docs) if docs else np.zeros(0, dtype=np.int64)
        words = np.concatenate(words) if words else np.zeros(0, dtype=np.int64)
        found = sparse.csr_matrix((np.ones(len(docs)), (docs, words)), shape=(len(texts), n_words))
        found.data[:] = 1.0  # a keyword counts once per text, however often it occurs
        counts = (found @ weights).toarray()
        return sparse.csr_matrix(np.log1p(counts))

    def __getstate__(self):
        return {"keywords": self.keywords, "_compiled": None}
