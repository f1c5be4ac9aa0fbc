"""A fitted pipeline compiled to numpy: the same probabilities, without importing scikit-learn.

Training fits scikit-learn Pipelines (features → CalibratedClassifierCV(LinearSVC, sigmoid,
ensemble=False)). Serving a linear model needs only its numbers, and importing scikit-learn
costs more than two seconds of every start (it also imports scipy.stats and pandas), so the
committed model holds `CompiledPipeline`s: per feature block, what the fitted transformer
learned; then the SVM's coefficients and the sigmoid calibrators. `compile_pipeline` is used
at training time (it imports scikit-learn); predicting imports only numpy and scipy.sparse.
tests/test_inference.py checks the probabilities equal the Pipeline's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from fazhi.featurize import KeywordMatcher, char_ngram_counts, cue_matrix, tfidf_rows, word_counts


@dataclass
class WordBlock:
    vocabulary: dict[str, int]
    idf: np.ndarray
    ngram_range: tuple[int, int]
    sublinear_tf: bool

    def transform(self, texts) -> sparse.csr_matrix:
        return tfidf_rows(word_counts(texts, self.vocabulary, self.ngram_range), self.idf, self.sublinear_tf)


@dataclass
class CharBlock:
    idf: np.ndarray
    ngram_range: tuple[int, int]
    n_buckets: int
    sublinear_tf: bool

    def transform(self, texts) -> sparse.csr_matrix:
        return tfidf_rows(char_ngram_counts(texts, self.ngram_range, self.n_buckets), self.idf, self.sublinear_tf)


# The cue columns of blocks compiled before blocks recorded their own (models up to
# fazhi-v1-b07edf3c), so that such a model file still loads and predicts as it was trained.
_CUES_BEFORE_NAMED_BLOCKS = ("number", "count", "amount", "percent", "title", "doc_number", "date", "year",
                             "quoted_name")


@dataclass
class CueBlock:
    generic_titles: tuple[str, ...] = ()
    names: tuple[str, ...] = _CUES_BEFORE_NAMED_BLOCKS

    def transform(self, texts) -> sparse.csr_matrix:
        return cue_matrix(texts, self.generic_titles, self.names)


@dataclass
class KeywordBlock:
    matcher: KeywordMatcher

    def transform(self, texts) -> sparse.csr_matrix:
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
        scores = np.tile(self.intercept, (len(texts), 1))
        start = 0
        for block in self.blocks:
            features = block.transform(texts)
            width = features.shape[1]
            scores += features @ self.coef[:, start:start + width].T
            start += width
        return scores

    def predict_proba(self, texts) -> np.ndarray:
        """As scikit-learn's _CalibratedClassifier.predict_proba with sigmoid calibrators."""
        texts = list(texts)
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


def _compile_block(transformer):
    from sklearn.feature_extraction.text import TfidfVectorizer

    from fazhi.features import HashedCharNgrams, SpecificityCues, TaxonomyKeywords

    if isinstance(transformer, TfidfVectorizer):
        if transformer.analyzer != "word" or transformer.norm != "l2" or transformer.lowercase:
            raise ValueError("only the project's word TF-IDF (l2, no lowercasing) can be compiled")
        return WordBlock(dict(transformer.vocabulary_), transformer.idf_.copy(),
                         tuple(transformer.ngram_range), transformer.sublinear_tf)
    if isinstance(transformer, HashedCharNgrams):
        return CharBlock(transformer.idf_.copy(), tuple(transformer.ngram_range), transformer.n_buckets,
                         transformer.sublinear_tf)
    if isinstance(transformer, SpecificityCues):
        return CueBlock(transformer.generic_titles_, tuple(transformer.names_))
    if isinstance(transformer, TaxonomyKeywords):
        return KeywordBlock(KeywordMatcher(transformer.keywords_))
    raise ValueError(f"cannot compile a {type(transformer).__name__}")


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
    return CompiledPipeline(
        blocks=[_compile_block(t) for _, t in union.transformer_list],
        coef=np.atleast_2d(svm.coef_).astype(np.float64),
        intercept=np.atleast_1d(svm.intercept_).astype(np.float64),
        sigmoid_a=np.array([c.a_ for c in sigmoids], dtype=np.float64),
        sigmoid_b=np.array([c.b_ for c in sigmoids], dtype=np.float64),
        classes_=np.asarray(calibrated.classes_))
