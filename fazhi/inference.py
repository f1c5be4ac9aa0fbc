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

import copy
from dataclasses import dataclass

import numpy as np

from fazhi.featurize import (CharNgramCounter, KeywordMatcher, RareVocabulary, SparseRows, TextBatch,
                             VocabularyCounter, add_tfidf_decisions, as_batch, cue_matrix, own_columns, shared_tf,
                             tfidf_rows)


class _TfidfBlock:
    """What word and character blocks share: counts from a counter (perhaps shared with the
    other pipeline's block, over the union of their columns), tf-idf, l2 norm, and their
    products with the classifier's weights, added to the decisions without building the
    feature matrix (`add_tfidf_decisions`)."""

    def own_counter(self):
        raise NotImplementedError

    def _counter(self):
        if self.counter is None:  # files compiled before blocks kept their counter
            self.counter, self.columns = self.own_counter(), None
        return self.counter

    def transform(self, texts) -> SparseRows:
        """The block's features (tf-idf rows, l2-normalized), as the fitted transformer's."""
        counts = own_columns(self._counter().counts(as_batch(texts)), self.columns, self.width)
        return tfidf_rows(counts, self.idf, self.sublinear_tf)

    def prepare(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The block's weights (k, width) times its idf, and its idf squared, at the counter's
        columns (0 at those that are not the block's)."""
        self._counter()
        if self.columns is None:
            return weights * self.idf, self.idf ** 2
        # A zero column after the block's own, taken where the counter's column is none of them.
        at = np.where(self.columns >= 0, self.columns, self.width)
        by_idf = np.zeros((weights.shape[0], self.width + 1))
        np.multiply(weights, self.idf, out=by_idf[:, :self.width])
        return np.take(by_idf, at, axis=1), np.append(self.idf ** 2, 0.0)[at]

    def add_decisions(self, batch: TextBatch, prepared, scores: np.ndarray) -> None:
        by_idf, idf_squared = prepared
        counts, tf, tf_squared = shared_tf(self._counter(), batch, self.sublinear_tf)
        add_tfidf_decisions(counts, tf, tf_squared, idf_squared, by_idf, scores)


@dataclass
class WordBlock(_TfidfBlock):
    vocabulary: dict[str, int]
    idf: np.ndarray
    ngram_range: tuple[int, int]
    sublinear_tf: bool
    counter: VocabularyCounter | None = None  # built when compiling; by the first prediction before
    # When word blocks share a counter (`share_counters`): this block's column of each of the
    # counter's columns, -1 where it has none. None: the counter is the block's own.
    columns: np.ndarray | None = None

    @property
    def width(self) -> int:
        return len(self.vocabulary)

    def own_counter(self):
        return VocabularyCounter(self.vocabulary, self.ngram_range)


@dataclass
class CharBlock(_TfidfBlock):
    """Hashed character n-grams; only the buckets seen in fitting (`buckets`, sorted) have a
    column: the others weigh 0 (their idf is 0), so they are dropped before counting."""

    idf: np.ndarray           # of each of `buckets`
    ngram_range: tuple[int, int]
    n_buckets: int
    sublinear_tf: bool
    buckets: np.ndarray | None = None
    counter: CharNgramCounter | None = None  # as WordBlock's; its own (built on first use) unless shared
    columns: np.ndarray | None = None

    @property
    def width(self) -> int:
        return len(self.buckets)

    def own_counter(self):
        return CharNgramCounter(self.buckets, self.ngram_range, self.n_buckets)

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_column_of"}


def share_counters(pipelines) -> None:
    """Let the word blocks of the same n-gram range in these pipelines (the area and the
    category pipeline's) share one counter over the union of their vocabularies, and the
    character blocks of the same settings one over the union of their buckets, so that a
    batch's n-grams are counted once; each block takes its own columns of the counts. The
    union is numbered in the blocks' own order (scikit-learn numbers a vocabulary by sorted
    term, buckets are sorted), so each block's columns increase and its entries stay in CSR
    order. A rarity block reads its tokens through the word counter's look-ups. Done when
    compiling (the counters are pickled with the model); the features, and so the
    probabilities, are the same as each block counting alone."""
    words, chars = {}, {}
    for pipeline in pipelines:
        for block in getattr(pipeline, "blocks", ()):
            if isinstance(block, WordBlock):
                words.setdefault(tuple(block.ngram_range), []).append(block)
            elif isinstance(block, CharBlock) and block.buckets is not None:
                chars.setdefault((tuple(block.ngram_range), block.n_buckets), []).append(block)
    for ngram_range, blocks in words.items():
        blocks = [b for b in blocks if _increasing([b.vocabulary[t] for t in sorted(b.vocabulary)])]
        terms = sorted(set().union(*(b.vocabulary for b in blocks)))
        if not blocks:
            continue
        counter = VocabularyCounter({term: i for i, term in enumerate(terms)}, ngram_range)
        for block in blocks:
            get = block.vocabulary.get
            block.counter = counter
            block.columns = np.array([get(term, -1) for term in terms], dtype=np.int32)
    for (ngram_range, n_buckets), blocks in chars.items():
        buckets = np.unique(np.concatenate([b.buckets for b in blocks]))
        counter = CharNgramCounter(buckets, ngram_range, n_buckets)
        for block in blocks:
            columns = np.full(len(buckets), -1, dtype=np.int32)
            columns[np.searchsorted(buckets, block.buckets)] = np.arange(len(block.buckets), dtype=np.int32)
            block.counter, block.columns = counter, columns
    # A rarity block reads tokens through a shared word counter's numbering (looked up once).
    shared = next((b.counter for pipeline in pipelines for b in getattr(pipeline, "blocks", ())
                   if isinstance(b, WordBlock) and b.counter is not None), None)
    if shared is not None:
        for pipeline in pipelines:
            for block in getattr(pipeline, "blocks", ()):
                if isinstance(block, RareBlock):
                    block.vocabulary.link(shared)
    for pipeline in pipelines:
        if isinstance(pipeline, CompiledPipeline):
            pipeline.prepare()  # the blocks' weights at their new counters' columns


def _increasing(values) -> bool:
    return all(a < b for a, b in zip(values, values[1:]))


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
class RareBlock:
    vocabulary: RareVocabulary

    @property
    def width(self) -> int:
        return 2

    def transform(self, texts) -> np.ndarray:
        return self.vocabulary.matrix(texts)


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
        for block, weights in zip(self.blocks, self._prepared()):
            if hasattr(block, "add_decisions"):
                block.add_decisions(batch, weights, scores)
            else:
                scores += block.transform(batch) @ weights.T
        return scores

    def prepare(self) -> None:
        """Make the blocks' weights again (after their counters changed)."""
        self._made = None
        self._prepared()

    def _prepared(self) -> list:
        """Each block's weights as it uses them (`prepare`; else its columns of `coef`): made
        when compiling and pickled with the model (making them costs ~10 ms of a first
        prediction, loading them ~1 ms), else on first use; made again if `coef` is another."""
        made = getattr(self, "_made", None)
        if made is None or made[0] is not self.coef:
            prepared, start = [], 0
            for block in self.blocks:
                weights = self.coef[:, start:start + block.width]
                prepared.append(block.prepare(weights) if hasattr(block, "prepare") else weights)
                start += block.width
            made = self._made = (self.coef, prepared)
        return made[1]

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

    from fazhi.features import HashedCharNgrams, RareWords, SpecificityCues, TaxonomyKeywords

    if isinstance(transformer, TfidfVectorizer):
        if transformer.analyzer != "word" or transformer.norm != "l2" or transformer.lowercase:
            raise ValueError("only the project's word TF-IDF (l2, no lowercasing) can be compiled")
        vocabulary = dict(transformer.vocabulary_)
        block = WordBlock(vocabulary, transformer.idf_.copy(), tuple(transformer.ngram_range),
                          transformer.sublinear_tf, VocabularyCounter(vocabulary, transformer.ngram_range))
    elif isinstance(transformer, HashedCharNgrams):
        seen = np.flatnonzero(transformer.idf_)  # an n-gram never seen in fitting weighs 0
        block = CharBlock(transformer.idf_[seen], tuple(transformer.ngram_range), transformer.n_buckets,
                          transformer.sublinear_tf, buckets=seen,
                          counter=CharNgramCounter(seen, transformer.ngram_range, transformer.n_buckets))
        return block, seen, transformer.n_buckets
    elif isinstance(transformer, SpecificityCues):
        block = CueBlock(transformer.generic_titles_, tuple(transformer.names_))
    elif isinstance(transformer, TaxonomyKeywords):
        block = KeywordBlock(KeywordMatcher(transformer.keywords_))
    elif isinstance(transformer, RareWords):
        block = RareBlock(copy.copy(transformer.vocabulary_))  # linking it leaves the fitted one as it was
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
    compiled = CompiledPipeline(
        blocks=blocks,
        coef=np.ascontiguousarray(coef[:, np.concatenate(kept)]),
        intercept=np.atleast_1d(svm.intercept_).astype(np.float64),
        sigmoid_a=np.array([c.a_ for c in sigmoids], dtype=np.float64),
        sigmoid_b=np.array([c.b_ for c in sigmoids], dtype=np.float64),
        classes_=np.asarray(calibrated.classes_))
    compiled.prepare()
    return compiled
