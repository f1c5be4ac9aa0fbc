"""Leave-one-document-out evaluation: folds, pooled scores, bootstrap interval, per document."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import f1_score

from training import evaluate


class Memorizer(BaseEstimator, ClassifierMixin):
    """Predicts the label it saw for a text, or "unseen": exposes any leak between folds."""

    def fit(self, X, y):
        self.seen_ = dict(zip(X, y))
        self.classes_ = np.array(sorted(set(y)))
        return self

    def predict(self, X):
        return np.array([self.seen_.get(x, "unseen") for x in X])


def _task(rows):
    texts, labels, docs, evaluated = zip(*rows)
    return evaluate.TaskData("area", list(texts), list(labels), list(docs), np.array(evaluated))


def test_held_out_document_never_trains():
    # The same sentence in two documents: a leak would let the memorizer answer it.
    data = _task([("甲", "functions", "a", True), ("乙", "rules", "a", True),
                  ("甲", "functions", "b", True), ("丙", "rules", "b", False)])
    result = evaluate.leave_one_document_out(Memorizer(), data)
    # "甲" of a is answered from b's copy and vice versa; "乙" (only in a) is never seen.
    assert result.y_true == ["functions", "rules", "functions"]
    assert result.y_pred == ["functions", "unseen", "functions"]
    assert set(result.by_document) == {"a", "b"}
    # Units that are not evaluation truth ("丙") only train.
    assert len(result.y_true) == 3


def test_per_document_scores_each_held_out_document_alone():
    data = _task([("甲", "functions", "a", True), ("乙", "rules", "a", True),
                  ("甲", "functions", "b", True), ("乙", "rules", "b", True), ("丁", "rules", "b", True)])
    result = evaluate.leave_one_document_out(Memorizer(), data)
    assert result.by_document["a"] == pytest.approx(1.0)
    # b: 甲 and 乙 right, 丁 unseen.
    expected = f1_score(["functions", "rules", "rules"], ["functions", "rules", "unseen"],
                        labels=["functions", "rules", "unseen"], average="macro", zero_division=0)
    assert result.by_document["b"] == pytest.approx(expected)


def test_bootstrap_of_perfect_predictions_is_one():
    labels = ["a", "b", "c"] * 10
    assert evaluate.bootstrap_interval(labels, labels) == (1.0, 1.0)


def test_bootstrap_round_equals_scikit_learn_on_the_same_resample():
    rng = np.random.default_rng(3)
    y_true = list(rng.choice(["a", "b", "c", "d"], size=80, p=[0.6, 0.3, 0.08, 0.02]))
    y_pred = [t if rng.random() < 0.7 else rng.choice(["a", "b", "c", "d"]) for t in y_true]
    for seed in range(5):
        # One round: the interval collapses to that round's macro-F1.
        low, high = evaluate.bootstrap_interval(y_true, y_pred, rounds=1, seed=seed)
        picks = np.random.default_rng(seed).integers(0, len(y_true), size=(1, len(y_true)))[0]
        t, p = [y_true[i] for i in picks], [y_pred[i] for i in picks]
        present = sorted(set(t) | set(p))  # a class absent from the round is not a zero
        assert low == high == pytest.approx(f1_score(t, p, labels=present, average="macro", zero_division=0))


def test_bootstrap_interval_brackets_the_estimate_and_is_repeatable():
    rng = np.random.default_rng(7)
    y_true = list(rng.choice(["a", "b", "c"], size=300))
    y_pred = [t if rng.random() < 0.8 else "a" for t in y_true]
    point = f1_score(y_true, y_pred, average="macro")
    low, high = evaluate.bootstrap_interval(y_true, y_pred)
    assert low < point < high
    assert 0.02 < high - low < 0.2
    assert evaluate.bootstrap_interval(y_true, y_pred) == (low, high)
    # Fewer sentences, wider interval.
    small_low, small_high = evaluate.bootstrap_interval(y_true[:60], y_pred[:60])
    assert small_high - small_low > high - low


def test_scores_are_pooled_per_document_kind():
    rows = [("甲", "functions", "a", True), ("乙", "rules", "a", True),
            ("甲", "functions", "b", True), ("乙", "rules", "b", True),
            ("丙", "rules", "c", True)]
    data = _task(rows)
    data.doc_kinds = {"a": "annual_report", "b": "annual_report", "c": "plan"}
    result = evaluate.leave_one_document_out(Memorizer(), data)
    assert set(result.by_kind) == {"annual_report", "plan"}
    # a and b answer each other perfectly; c's only sentence is never seen elsewhere.
    assert result.by_kind["annual_report"]["macro_f1"] == pytest.approx(1.0)
    assert result.by_kind["annual_report"]["n"] == 4
    assert result.by_kind["plan"] == {"macro_f1": 0.0, "interval": (0.0, 0.0), "accuracy": 0.0, "n": 1}


class DocumentRecorder(BaseEstimator, ClassifierMixin):
    """Records which documents each fit saw (texts are "doc:sentence"); predicts the majority."""

    fits: list = []

    def __init__(self, feature_set="x"):
        self.feature_set = feature_set

    def fit(self, X, y):
        DocumentRecorder.fits.append((self.feature_set, {x.split(":")[0] for x in X}))
        self.classes_ = np.array(sorted(set(y)))
        self.majority_ = max(set(y), key=list(y).count)
        return self

    def predict_proba(self, X):
        return np.array([[1.0 if c == self.majority_ else 0.0 for c in self.classes_] for _ in X])


def test_nested_choice_never_sees_the_held_out_document():
    rows = [(f"{doc}:{i}", label, doc, True) for doc in "abcd" for i, label in enumerate(["functions", "rules"] * 2)]
    rows.append(("t:0", "rules", "t", False))  # a training-only document (authored): never held out
    data = _task(rows)
    DocumentRecorder.fits = []
    nested = evaluate.nested_lodo(lambda fs: DocumentRecorder(fs), data, ["x", "y"], grid=((0.0, 0.0),))
    assert set(nested.chosen) == set("abcd")
    # Every fit of an outer fold's choice and refit excludes that fold's document: the fits
    # come in blocks per outer document, in sorted order, before the final selection on all.
    per_outer = len(DocumentRecorder.fits[:-8]) // 4
    for k, doc in enumerate("abcd"):
        for _, seen in DocumentRecorder.fits[k * per_outer:(k + 1) * per_outer]:
            assert doc not in seen
    # The training-only document trains every fit and is never scored.
    assert all("t" in seen for _, seen in DocumentRecorder.fits)
    assert "t" not in nested.result.by_document
    assert len(nested.result.y_true) == 16


def test_structure_weights_mix_outline_and_section():
    from fazhi.model import combine_with_structure, section_means

    own = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    section = section_means(own, ["s", "s", ""])
    assert section[0] == pytest.approx([0.55, 0.45]) and section[2] == pytest.approx([0.0, 0.0])
    outline = np.array([[0.0, 1.0]] * 3)
    mixed = combine_with_structure(own, outline, section, np.array([True, True, False]), 1.0, 2.0)
    assert mixed[0] == pytest.approx((own[0] + outline[0] + 2 * section[0]) / 4)
    assert mixed[2] == pytest.approx(own[2])  # no section: the sentence alone
