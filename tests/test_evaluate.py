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
