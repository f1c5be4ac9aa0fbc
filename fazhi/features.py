"""The scikit-learn transformers that training fits and compares (docs/model-comparison.md).

Word TF-IDF over jieba tokens, hashed character n-gram TF-IDF, per-area counts of the
taxonomy's keywords, and for the category task a small block of specificity cues (numbers,
amounts, 《》 titles, document numbers, dates) and the rarity of a sentence's words. Their
arithmetic lives in fazhi/featurize.py, which the compiled predictor shares.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from fazhi.featurize import (ANCHORED_CUE, CUE_NAMES, KeywordMatcher, RareVocabulary, SparseRows, char_ngram_counts,
                             cue_matrix, tfidf_rows, word_tokens)
from fazhi.tokenizer import normalize


def _csr(rows: SparseRows) -> sparse.csr_matrix:
    return sparse.csr_matrix((rows.values, rows.cols, rows.indptr), shape=rows.shape)


def _taxonomy(taxonomy_file):
    from fazhi.paths import TAXONOMY_FILE
    from fazhi.taxonomy import load_taxonomy

    return load_taxonomy(taxonomy_file or TAXONOMY_FILE)


class SpecificityCues(BaseEstimator, TransformerMixin):
    """log(1 + count) of each specificity cue (or of the named ones); the taxonomy's generic
    titles (read when fitted, and carried by the fitted model) are counted apart from other
    《…》 titles."""

    def __init__(self, taxonomy_file=None, names=None):
        self.taxonomy_file = taxonomy_file
        self.names = names

    def fit(self, X, y=None):
        self.generic_titles_ = tuple(normalize(t) for t in _taxonomy(self.taxonomy_file).generic_titles)
        self.names_ = tuple(self.names) if self.names else CUE_NAMES
        return self

    def transform(self, X):
        return sparse.csr_matrix(cue_matrix(X, self.generic_titles_, self.names_))

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"cue_{name}" for name in self.names_], dtype=object)


class TaxonomyKeywords(BaseEstimator, TransformerMixin):
    """Per area, log(1 + characters of that area's taxonomy keywords found in the sentence).

    The keyword lists (`keyword_sets`, the taxonomy's field names) come from the taxonomy file
    when the transformer is fitted, so the fitted model carries the lists it was trained with.
    """

    def __init__(self, taxonomy_file=None, keyword_sets=("keywords",)):
        self.taxonomy_file = taxonomy_file
        self.keyword_sets = keyword_sets

    def fit(self, X, y=None):
        taxonomy = _taxonomy(self.taxonomy_file)
        self.keywords_ = {a.id: [normalize(k) for k in a.keyword_list(self.keyword_sets)]
                          for a in taxonomy.areas if a.keyword_list(self.keyword_sets)}
        self.matcher_ = KeywordMatcher(self.keywords_)
        return self

    def transform(self, X):
        return sparse.csr_matrix(self.matcher_.matrix(X))

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"kw_{area}" for area in self.keywords_], dtype=object)


class RareWords(BaseEstimator, TransformerMixin):
    """The share and number of a sentence's words that at most `max_count` training sentences
    hold (fazhi.featurize.RareVocabulary): how particular its vocabulary is."""

    def __init__(self, max_count=2):
        self.max_count = max_count

    def fit(self, X, y=None):
        self.vocabulary_ = RareVocabulary(X, self.max_count)
        return self

    def transform(self, X):
        return sparse.csr_matrix(self.vocabulary_.matrix(X))

    def get_feature_names_out(self, input_features=None):
        return np.asarray(["rare_share", "rare_count"], dtype=object)


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

    def fit(self, X, y=None):
        counts = char_ngram_counts(X, self.ngram_range, self.n_buckets)
        df = np.bincount(counts.cols, minlength=self.n_buckets)
        n = counts.shape[0]
        # scikit-learn's smooth idf; n-grams never seen in fitting weigh 0, as they would be
        # absent from a fitted vocabulary (a high idf would let them swamp the known ones).
        self.idf_ = np.where(df > 0, np.log((1 + n) / (1 + df)) + 1.0, 0.0)
        return self

    def transform(self, X):
        return _csr(tfidf_rows(char_ngram_counts(X, self.ngram_range, self.n_buckets), self.idf_, self.sublinear_tf))


def word_tfidf(**overrides) -> TfidfVectorizer:
    params = dict(tokenizer=word_tokens, token_pattern=None, lowercase=False,
                  ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    params.update(overrides)
    return TfidfVectorizer(**params)


# "anchor" is the anchor-cue rule as a single feature (`anchored`): a model of it alone is the
# rule with calibrated probabilities.
FEATURE_PARTS = ("word", "char", "cues", "anchor", "kw", "rare")


def build_features(feature_set: str, *, max_df: float = 1.0, char_ngram_max: int = 3,
                   keyword_sets: tuple[str, ...] = ("keywords",)) -> FeatureUnion:
    """A FeatureUnion of the named parts (see FEATURE_PARTS) joined by "+", e.g. "char+kw"."""
    parts = feature_set.split("+")
    unknown = set(parts) - set(FEATURE_PARTS)
    if unknown or not parts:
        raise ValueError(f"unknown feature set {feature_set!r}: parts are {', '.join(FEATURE_PARTS)}")
    makers = {
        "word": lambda: word_tfidf(max_df=max_df),
        "char": lambda: HashedCharNgrams(ngram_range=(1, char_ngram_max)),
        "cues": SpecificityCues,
        "anchor": lambda: SpecificityCues(names=(ANCHORED_CUE,)),
        "kw": lambda: TaxonomyKeywords(keyword_sets=tuple(keyword_sets)),
        "rare": RareWords,
    }
    return FeatureUnion([(part, makers[part]()) for part in parts])
