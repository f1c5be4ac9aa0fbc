"""A fitted pipeline compiled to numpy: the same probabilities, without importing scikit-learn.

Training fits scikit-learn Pipelines (features → CalibratedClassifierCV(LinearSVC, sigmoid,
ensemble=False)). Serving a linear model needs only its numbers, and importing scikit-learn
costs more than two seconds of every start (it also imports scipy.stats and pandas), so the
committed model holds `CompiledPipeline`s: per feature block, what the fitted transformer
learned; then the SVM's coefficients and the sigmoid calibrators. `compile_pipeline` is used
at training time (it imports scikit-learn); predicting imports only numpy.
tests/test_inference.py checks the probabilities equal the Pipeline's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fazhi.featurize import (KeywordMatcher, SparseRows, VocabularyCounter, as_batch, char_ngram_hashes,
                             count_entries, cue_matrix, tfidf_rows)


@dataclass
class WordBlock:
    vocabulary: dict[str, int]
    idf: np.ndarray
    ngram_range: tuple[int, int]
    sublinear_tf: bool
    counter: VocabularyCounter | None = None  # built when compiling; by the first prediction before

    @property
    def width(self) -> int:
        return len(self.vocabulary)

    def transform(self, texts) -> SparseRows:
        if self.counter is None:
            self.counter = VocabularyCounter(self.vocabulary, self.ngram_range)
        return tfidf_rows(self.counter.counts(as_batch(texts)), self.idf, self.sublinear_tf)


@dataclass
class CharBlock:
    """Hashed character n-grams; only the buckets seen in fitting (`buckets`, sorted) have a
    column: the others weigh 0 (their idf is 0), so they are dropped before counting."""

    idf: np.ndarray           # of each of `buckets`
    ngram_range: tuple[int, int]
    n_buckets: int
    sublinear_tf: bool
    buckets: np.ndarray | None = None

    @property
    def width(self) -> int:
        return len(self.buckets)

    def transform(self, texts) -> SparseRows:
        if getattr(self, "_column_of", None) is None:  # bucket → column (-1: none), built on first use
            self._column_of = np.full(self.n_buckets, -1, dtype=np.int64)
            self._column_of[self.buckets] = np.arange(len(self.buckets))
        rows, buckets = char_ngram_hashes(as_batch(texts), self.ngram_range, self.n_buckets)
        columns = self._column_of[buckets]
        seen = columns >= 0
        counts = count_entries(rows[seen], columns[seen], (len(texts), len(self.buckets)))
        return tfidf_rows(counts, self.idf, self.sublinear_tf)

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_column_of"}


# The cue columns of blocks compiled before blocks recorded their own (models up to
# fazhi-v1-b07edf3c), so that such a model file still loads and predicts as it was trained.
_CUES_BEFORE_NAMED_BLOCKS = ("number", "count", "amount", "percent", "title", "doc_number", "date", "year",
                             "quoted_name")


@dataclass
class CueBlock:
    generic_titles: tuple[str, ...] = ()
    names: tuple[str, ...] = _CUES_BEFORE_NAMED_BLOCKS

    @property
    def width(self) -> int:
        return len(self.names)

    def transform(self, texts) -> np.ndarray:
        return cue_matrix(texts, self.generic_titles, self.names)


@dataclass
class KeywordBlock:
    matcher: KeywordMatcher

    @property
    def width(self) -> int:
        return len(self.matcher.keywords)

    def transform(self, texts) -> np.ndarray:
        return self.matcher.matrix(texts)


@dataclass
class CompiledPipeline:
    """Feature blocks, a linear decision function and one sigmoid per class."""

    blocks: list
    coef: np.ndarray          # (n_decisions, n_features): one row, or one per class
    intercept: np.ndarray     # (n_decisions,)
    sigmoid_a: np.ndarray     # (n_decisions,) calibrator slopes
    sigmoid_b: np.ndarray     # (n_decisions,) calibrator offsets
    classes_: np.ndarray

    def decision_function(self, texts) -> np.ndarray:
        batch = as_batch(texts)
        scores = np.tile(self.intercept, (len(batch), 1))
        start = 0
        for block in self.blocks:
            features = block.transform(batch)
            weights = self.coef[:, start:start + block.width]
            if isinstance(features, SparseRows):
                scores += features.dot_transposed(weights)
            else:
                scores += features @ weights.T
            start += block.width
        return scores

    def predict_proba(self, texts) -> np.ndarray:
        """As scikit-learn's _CalibratedClassifier.predict_proba with sigmoid calibrators."""
        calibrated = 1.0 / (1.0 + np.exp(self.sigmoid_a * self.decision_function(texts) + self.sigmoid_b))
        if len(self.classes_) == 2:
            proba = np.column_stack([1.0 - calibrated[:, 0], calibrated[:, 0]])
        else:
            total = calibrated.sum(axis=1, keepdims=True)
            proba = np.divide(calibrated, total, out=np.full_like(calibrated, 1 / len(self.classes_)),
                              where=total != 0)
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba

    def predict(self, texts) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(texts), axis=1)]

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._drop_unseen_buckets()

    def _drop_unseen_buckets(self):
        """Models compiled before character blocks kept only their seen buckets hold a column
        (and an idf of 0) for every bucket: keep the seen ones, with their coefficients. The
        dropped columns always weighed 0, so the probabilities are the same."""
        if not any(isinstance(b, CharBlock) and getattr(b, "buckets", None) is None for b in self.blocks):
            return
        kept, start = [], 0
        for block in self.blocks:
            if isinstance(block, CharBlock) and getattr(block, "buckets", None) is None:
                block.buckets = np.flatnonzero(block.idf)
                block.idf = block.idf[block.buckets]
                kept.append(start + block.buckets)
                start += block.n_buckets
            else:
                kept.append(np.arange(start, start + block.width))
                start += block.width
        self.coef = np.ascontiguousarray(self.coef[:, np.concatenate(kept)])


def _compile_block(transformer) -> tuple[object, np.ndarray, int]:
    """The compiled block of a fitted transformer, which of the transformer's columns it keeps
    (their indices), and how many columns the transformer has."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from fazhi.features import HashedCharNgrams, SpecificityCues, TaxonomyKeywords

    if isinstance(transformer, TfidfVectorizer):
        if transformer.analyzer != "word" or transformer.norm != "l2" or transformer.lowercase:
            raise ValueError("only the project's word TF-IDF (l2, no lowercasing) can be compiled")
        vocabulary = dict(transformer.vocabulary_)
        block = WordBlock(vocabulary, transformer.idf_.copy(), tuple(transformer.ngram_range),
                          transformer.sublinear_tf, VocabularyCounter(vocabulary, transformer.ngram_range))
    elif isinstance(transformer, HashedCharNgrams):
        seen = np.flatnonzero(transformer.idf_)  # an n-gram never seen in fitting weighs 0
        block = CharBlock(transformer.idf_[seen], tuple(transformer.ngram_range), transformer.n_buckets,
                          transformer.sublinear_tf, buckets=seen)
        return block, seen, transformer.n_buckets
    elif isinstance(transformer, SpecificityCues):
        block = CueBlock(transformer.generic_titles_, tuple(transformer.names_))
    elif isinstance(transformer, TaxonomyKeywords):
        block = KeywordBlock(KeywordMatcher(transformer.keywords_))
    else:
        raise ValueError(f"cannot compile a {type(transformer).__name__}")
    return block, np.arange(block.width), block.width


def compile_pipeline(pipeline) -> CompiledPipeline:
    """Compile a fitted Pipeline(features=FeatureUnion, clf=CalibratedClassifierCV(ensemble=False))."""
    union, calibrated = pipeline.named_steps["features"], pipeline.named_steps["clf"]
    if union.transformer_weights or len(calibrated.calibrated_classifiers_) != 1:
        raise ValueError("only unweighted unions and ensemble=False calibration can be compiled")
    (calibrated_classifier,) = calibrated.calibrated_classifiers_
    svm = calibrated_classifier.estimator
    sigmoids = calibrated_classifier.calibrators
    if not all(hasattr(c, "a_") for c in sigmoids):
        raise ValueError("only sigmoid calibration can be compiled")
    blocks, kept, start = [], [], 0
    for _, transformer in union.transformer_list:
        block, columns, width = _compile_block(transformer)
        blocks.append(block)
        kept.append(start + columns)
        start += width
    coef = np.atleast_2d(svm.coef_).astype(np.float64)
    if start != coef.shape[1]:
        raise ValueError(f"the blocks have {start} columns, the classifier {coef.shape[1]}")
    return CompiledPipeline(
        blocks=blocks,
        coef=np.ascontiguousarray(coef[:, np.concatenate(kept)]),
        intercept=np.atleast_1d(svm.intercept_).astype(np.float64),
        sigmoid_a=np.array([c.a_ for c in sigmoids], dtype=np.float64),
        sigmoid_b=np.array([c.b_ for c in sigmoids], dtype=np.float64),
        classes_=np.asarray(calibrated.classes_))
