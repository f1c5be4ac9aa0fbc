"""Sentence features shared by training and inference.

Candidates compared in training (see docs/model-comparison.md): word TF-IDF over jieba tokens,
character n-gram TF-IDF, both in a FeatureUnion, and for the category task a small block of
specificity cues (numbers, amounts, 《》 titles, document numbers, dates).
"""
from __future__ import annotations

import re

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


def word_tokens(text: str) -> list[str]:
    """jieba tokens with numbers folded (a module-level function, so it pickles)."""
    return [_DIGITS.sub("0", t) for t in tokenize(text)]


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

    def transform(self, X):
        rows = []
        for text in X:
            text = normalize(text)
            rows.append([np.log1p(sum(len(k) for k in words if k in text)) for words in self.keywords_.values()])
        return sparse.csr_matrix(np.asarray(rows, dtype=np.float64))

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"kw_{area}" for area in self.keywords_], dtype=object)


def word_tfidf(**overrides) -> TfidfVectorizer:
    params = dict(tokenizer=word_tokens, token_pattern=None, lowercase=False,
                  ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    params.update(overrides)
    return TfidfVectorizer(**params)


def char_tfidf(**overrides) -> TfidfVectorizer:
    params = dict(analyzer="char", preprocessor=fold_digits, lowercase=False,
                  ngram_range=(1, 3), sublinear_tf=True, min_df=1)
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
        "char": lambda: char_tfidf(max_df=max_df, ngram_range=(1, char_ngram_max)),
        "cues": SpecificityCues,
        "kw": TaxonomyKeywords,
    }
    return FeatureUnion([(part, makers[part]()) for part in parts])
