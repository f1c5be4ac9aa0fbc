"""Sentence features shared by training and inference.

Candidates compared in training (see docs/model-comparison.md): word TF-IDF over jieba tokens,
character n-gram TF-IDF (hashed, vectorized), both in a FeatureUnion, per-area counts of the
taxonomy's keywords, and for the category task a small block of specificity cues (numbers,
amounts, 《》 titles, document numbers, dates).
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from fazhi.tokenizer import normalize, tokenize

_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def fold_digits(text: str) -> str:
    """NFKC, then every number becomes "0": "43件" and "7件" are the same feature."""
    return _DIGITS.sub("0", normalize(text))


_shared = threading.local()


@contextmanager
def shared_tokens():
    """Within this block, each distinct text is tokenized once, however many vectorizers
    (the area and the category pipeline) ask for its tokens. Scoped to one call, so memory
    stays bounded and nothing is cached across documents."""
    outer = getattr(_shared, "cache", None)
    _shared.cache = {} if outer is None else outer
    try:
        yield
    finally:
        _shared.cache = outer


def word_tokens(text: str) -> list[str]:
    """jieba tokens with numbers folded (a module-level function, so it pickles)."""
    cache = getattr(_shared, "cache", None)
    if cache is not None and text in cache:
        return cache[text]
    tokens = [_DIGITS.sub("0", t) for t in tokenize(text)]
    if cache is not None:
        cache[text] = tokens
    return tokens


# Specificity cues: each is an auditor's anchor from the labelling guide.
CUES = {
    "number": re.compile(r"\d"),
    "count": re.compile(r"\d+(?:\.\d+)?\s*(?:余|多)?\s*(?:件|项|次|人次|人|名|家|个|场|期|批|条|份|篇|户|起|宗|万|亿)"),
    "amount": re.compile(r"\d+(?:\.\d+)?\s*(?:万|亿)?\s*元"),
    "percent": re.compile(r"\d+(?:\.\d+)?\s*[%％]|百分之"),
    "title": re.compile(r"《[^》]{2,80}》"),
    "doc_number": re.compile(r"[〔\[［(（]\s*(?:19|20)\d{2}\s*[〕\]］)）]\s*\d+\s*号"),
    "date": re.compile(r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月|\d{1,2}\s*月\s*\d{1,2}\s*日"),
    "year": re.compile(r"(?:19|20)\d{2}\s*年"),
    "quoted_name": re.compile(r"[“\"][^”\"]{2,20}[”\"]"),
}


def cue_counts(text: str) -> dict[str, int]:
    return {name: len(pattern.findall(text)) for name, pattern in CUES.items()}


class SpecificityCues(BaseEstimator, TransformerMixin):
    """log(1 + count) of each specificity cue; stateless."""

    def fit(self, X, y=None):
        self.n_features_in_ = 1
        return self

    def transform(self, X):
        rows = [[np.log1p(c) for c in cue_counts(normalize(x)).values()] for x in X]
        return sparse.csr_matrix(np.asarray(rows, dtype=np.float64))

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"cue_{name}" for name in CUES], dtype=object)


class TaxonomyKeywords(BaseEstimator, TransformerMixin):
    """Per area, log(1 + characters of that area's taxonomy keywords found in the sentence).

    The keyword lists come from the taxonomy file when the transformer is fitted, so the
    fitted model carries the lists it was trained with.
    """

    def __init__(self, taxonomy_file=None):
        self.taxonomy_file = taxonomy_file

    def fit(self, X, y=None):
        from fazhi.taxonomy import load_taxonomy
        from fazhi.paths import TAXONOMY_FILE

        taxonomy = load_taxonomy(self.taxonomy_file or TAXONOMY_FILE)
        self.keywords_ = {a.id: [normalize(k) for k in a.keywords] for a in taxonomy.areas if a.keywords}
        return self

    def _matcher(self):
        # One pass over the sentence finds every keyword starting at every position (longest
        # first there); compiled once per process, not pickled.
        if getattr(self, "_compiled", None) is None:
            keywords = sorted({k for words in self.keywords_.values() for k in words}, key=len, reverse=True)
            pattern = re.compile("(?=(" + "|".join(re.escape(k) for k in keywords) + "))")
            columns = {k: [j for j, words in enumerate(self.keywords_.values()) if k in words] for k in keywords}
            self._compiled = (pattern, columns)
        return self._compiled

    def transform(self, X):
        pattern, columns = self._matcher()
        counts = np.zeros((len(X), len(self.keywords_)))
        for i, text in enumerate(X):
            for keyword in set(pattern.findall(normalize(text))):
                for j in columns[keyword]:
                    counts[i, j] += len(keyword)
        return sparse.csr_matrix(np.log1p(counts))

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_compiled", None)
        return state

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"kw_{area}" for area in self.keywords_], dtype=object)


class HashedCharNgrams(BaseEstimator, TransformerMixin):
    """TF-IDF of character n-grams, hashed into `n_buckets` columns, computed with numpy over
    all texts at once.

    Same features as TfidfVectorizer(analyzer="char", sublinear_tf=True) up to hash collisions,
    but without building n-gram strings in Python: the char n-grams of a report cost a small
    fraction of its tokenization instead of several times it.
    """

    def __init__(self, ngram_range=(1, 3), n_buckets=2 ** 18, sublinear_tf=True):
        self.ngram_range = ngram_range
        self.n_buckets = n_buckets
        self.sublinear_tf = sublinear_tf

    def _counts(self, X) -> sparse.csr_matrix:
        texts = [fold_digits(x) for x in X]
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        # One array of code points for all texts; doc_of[i] is the text of position i.
        codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        doc_of = np.repeat(np.arange(len(texts)), lengths)
        low, high = self.ngram_range
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
            cols.append((h[inside] % np.uint64(self.n_buckets)).astype(np.int64))
        rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        cols = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        counts = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), self.n_buckets))
        counts.sum_duplicates()
        return counts

    def fit(self, X, y=None):
        counts = self._counts(X)
        df = np.bincount(counts.indices, minlength=self.n_buckets)
        n = counts.shape[0]
        # scikit-learn's smooth idf; n-grams never seen in fitting weigh 0, as they would be
        # absent from a fitted vocabulary (a high idf would let them swamp the known ones).
        self.idf_ = np.where(df > 0, np.log((1 + n) / (1 + df)) + 1.0, 0.0)
        return self

    def transform(self, X):
        counts = self._counts(X)  # canonical CSR: sorted, no duplicates
        data = counts.data.astype(np.float64)
        if self.sublinear_tf:
            data = np.log(data) + 1.0
        data *= self.idf_[counts.indices]
        row_of = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        norms = np.sqrt(np.bincount(row_of, weights=data * data, minlength=counts.shape[0]))
        norms[norms == 0] = 1.0
        data /= norms[row_of]
        return sparse.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)


def word_tfidf(**overrides) -> TfidfVectorizer:
    params = dict(tokenizer=word_tokens, token_pattern=None, lowercase=False,
                  ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    params.update(overrides)
    return TfidfVectorizer(**params)


FEATURE_PARTS = ("word", "char", "cues", "kw")


def build_features(feature_set: str, *, max_df: float = 1.0, char_ngram_max: int = 3) -> FeatureUnion:
    """A FeatureUnion of the named parts (see FEATURE_PARTS) joined by "+", e.g. "char+kw"."""
    parts = feature_set.split("+")
    unknown = set(parts) - set(FEATURE_PARTS)
    if unknown or not parts:
        raise ValueError(f"unknown feature set {feature_set!r}: parts are {', '.join(FEATURE_PARTS)}")
    makers = {
        "word": lambda: word_tfidf(max_df=max_df),
        "char": lambda: HashedCharNgrams(ngram_range=(1, char_ngram_max)),
        "cues": SpecificityCues,
        "kw": TaxonomyKeywords,
    }
    return FeatureUnion([(part, makers[part]()) for part in parts])
