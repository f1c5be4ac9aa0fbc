"""Honest evaluation: leave-one-document-out cross-validation and the candidate comparison.

Sentences of one report never sit in both train and test. Predictions of all folds are
pooled and scored on the held-out documents' `manual` body sentences only (the guide's
evaluation truth); labels of other sources (plan-annex) only ever train.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from pathlib import Path

from fazhi.featurize import ANCHORED_CUE, cue_counts
from fazhi.labels import LabelledUnit, SourceDocument, check_documents_listed, load_documents
from fazhi.model import CONCRETE, SLOGAN, build_pipeline, combine_with_context
from fazhi.paths import REPORTS_DIR
from fazhi.splitter import section_contexts, split_units
from fazhi.taxonomy import Taxonomy
from fazhi.tokenizer import normalize

# Percentile bootstrap of macro-F1 over the pooled evaluation sentences: rounds, level, seed.
BOOTSTRAP_ROUNDS = 2000
BOOTSTRAP_LEVEL = 0.95
BOOTSTRAP_SEED = 0


@dataclass
class TaskData:
    """Texts and labels of one task, with the document and evaluation mask of each."""

    name: str
    texts: list[str]
    labels: list[str]
    docs: list[str]
    evaluate: np.ndarray  # True where the unit is evaluation truth
    contexts: list[str] = field(default_factory=list)  # section outline of each unit, "" if unknown
    doc_kinds: dict = field(default_factory=dict)  # document → its kind (annual_report, plan, ...)


def report_contexts(units: list[LabelledUnit], documents: dict[str, SourceDocument],
                    reports_dir: Path = REPORTS_DIR) -> list[str]:
    """The section outline of each labelled unit, found by splitting its source report."""
    by_doc: dict[str, list[tuple[int, int, str]]] = {}
    for doc in {u.doc for u in units}:
        described = documents.get(doc)
        if described and described.file and (reports_dir / described.file).is_file():
            split = split_units((reports_dir / described.file).read_text(encoding="utf-8"))
            by_doc[doc] = [(s.start, s.end, c) for s, c in zip(split, section_contexts(split))]
    contexts = []
    for unit in units:
        spans = by_doc.get(unit.doc, [])
        contexts.append(next((c for s, e, c in spans if unit.start is not None and s <= unit.start < e), ""))
    return contexts


def area_task(units: list[LabelledUnit], documents: dict[str, SourceDocument]) -> TaskData:
    """Every unit trains the area model; manual body sentences are its evaluation truth."""
    return TaskData("area", [u.text for u in units], [u.area for u in units], [u.doc for u in units],
                    np.array([u.is_evaluation_truth and u.kind == "body" for u in units]),
                    report_contexts(units, documents), {d: documents[d].kind for d in documents})


def category_task(units: list[LabelledUnit], documents: dict[str, SourceDocument]) -> TaskData:
    chosen = [u for u in units if u.category is not None]
    return TaskData("category", [u.text for u in chosen], [u.category for u in chosen],
                    [u.doc for u in chosen], np.array([u.is_evaluation_truth for u in chosen]),
                    doc_kinds={d: documents[d].kind for d in documents})


def build_tasks(units: list[LabelledUnit],
                documents: dict[str, SourceDocument] | None = None) -> tuple[TaskData, TaskData]:
    """The area and category tasks of the labelled units; every unit's document must be
    described in data/documents.yaml (its kind splits the evaluation figures)."""
    documents = documents if documents is not None else load_documents()
    check_documents_listed(units, documents)
    return area_task(units, documents), category_task(units, documents)


class KeywordAreaBaseline(BaseEstimator, ClassifierMixin):
    """Area with the most taxonomy keywords in the sentence; the commonest area when none match."""

    def __init__(self, keywords: dict | None = None):
        self.keywords = keywords

    def fit(self, X, y):
        self.classes_ = np.array(sorted(set(y)))
        self.fallback_ = Counter(y).most_common(1)[0][0]
        return self

    def predict(self, X):
        out = []
        for text in X:
            text = normalize(text)
            hits = {area: sum(len(k) for k in words if k in text) for area, words in self.keywords.items()}
            best = max(hits, key=hits.get) if hits else None
            out.append(best if best and hits[best] > 0 else self.fallback_)
        return np.array(out)


class CueRuleBaseline(BaseEstimator, ClassifierMixin):
    """`concrete` when the sentence carries any anchor cue (number with unit, date, 《》 other
    than the generic titles, 文号)."""

    def __init__(self, generic_titles=()):
        self.generic_titles = generic_titles

    def fit(self, X, y):
        self.classes_ = np.array(sorted(set(y)))
        self.generic_titles_ = tuple(normalize(t) for t in self.generic_titles)
        return self

    def predict(self, X):
        return np.array([CONCRETE if cue_counts(normalize(t), self.generic_titles_)[ANCHORED_CUE] else SLOGAN
                         for t in X])


class MajorityBaseline(BaseEstimator, ClassifierMixin):
    def fit(self, X, y):
        self.classes_ = np.array(sorted(set(y)))
        self.majority_ = Counter(y).most_common(1)[0][0]
        return self

    def predict(self, X):
        return np.array([self.majority_] * len(X))


@dataclass
class Candidate:
    name: str
    estimator: object
    feature_set: str | None = None  # None for baselines, which are never kept


def candidates(task: str, taxonomy: Taxonomy, *, C: float, max_df: float, char_ngram_max: int) -> list[Candidate]:
    """Baselines and the TF-IDF variants compared for one task."""
    def model(feature_set):
        return Candidate(feature_set, build_pipeline(feature_set, C=C, max_df=max_df,
                                                     char_ngram_max=char_ngram_max), feature_set)
    if task == "area":
        keywords = {a.id: list(a.keywords) for a in taxonomy.areas if a.keywords}
        return [Candidate("baseline: majority class", MajorityBaseline()),
                Candidate("baseline: taxonomy keywords", KeywordAreaBaseline(keywords)),
                model("word"), model("char"), model("word+char"),
                model("char+kw"), model("word+char+kw")]
    return [Candidate("baseline: majority class", MajorityBaseline()),
            Candidate("baseline: anchor-cue rule", CueRuleBaseline(taxonomy.generic_titles)),
            model("word"), model("char"), model("word+char"),
            model("word+cues"), model("char+cues"), model("word+char+cues"), model("word+cues+kw")]


@dataclass
class CVResult:
    candidate: str
    feature_set: str | None
    macro_f1: float
    accuracy: float
    seconds: float
    labels: list[str] = field(default_factory=list)
    per_class: dict = field(default_factory=dict)  # label → {precision, recall, f1, support}
    confusion: np.ndarray | None = None
    y_true: list[str] = field(default_factory=list)
    y_pred: list[str] = field(default_factory=list)
    interval: tuple[float, float] = (0.0, 0.0)  # bootstrap interval of macro_f1
    by_document: dict = field(default_factory=dict)  # held-out document → its own macro-F1
    by_kind: dict = field(default_factory=dict)  # document kind → pooled macro_f1, interval, accuracy, n


def _held_out_folds(estimator, data: TaskData):
    """For each document with evaluation units: the estimator fitted on all other documents,
    then that document's evaluation texts, labels and documents, and their mask."""
    texts = np.array(data.texts, dtype=object)
    labels = np.array(data.labels, dtype=object)
    docs = np.array(data.docs)
    for doc in sorted(set(data.docs)):
        test = (docs == doc) & data.evaluate
        if not test.any():
            continue
        fitted = clone(estimator).fit(list(texts[docs != doc]), list(labels[docs != doc]))
        yield fitted, list(texts[test]), list(labels[test]), list(docs[test]), test


def leave_one_document_out(estimator, data: TaskData) -> CVResult:
    """Fit on all documents but one, predict the held-out one's evaluation units; pool."""
    started = time.perf_counter()
    y_true, y_pred, y_docs = [], [], []
    for fitted, texts, labels, docs, _ in _held_out_folds(estimator, data):
        y_true.extend(labels)
        y_pred.extend(fitted.predict(texts))
        y_docs.extend(docs)
    return _scores(y_true, y_pred, y_docs, data.doc_kinds, time.perf_counter() - started)


def _macro_f1(y_true, y_pred) -> float:
    present = sorted(set(y_true) | set(y_pred))
    return float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))


def bootstrap_interval(y_true, y_pred, *, rounds: int = BOOTSTRAP_ROUNDS, level: float = BOOTSTRAP_LEVEL,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of macro-F1, resampling the evaluation sentences.

    Each round's macro-F1 averages the classes present in that round's truth or predictions,
    as the point estimate does, so a rare class that a round misses does not count as F1 0.
    The interval shows how much a few sentences move the figure; it cannot show how much
    the next report differs from these (the per-document figures hint at that).
    """
    codes = {label: i for i, label in enumerate(sorted(set(y_true) | set(y_pred)))}
    truth = np.array([codes[y] for y in y_true])
    predicted = np.array([codes[y] for y in y_pred])
    n, k = len(truth), len(codes)
    if n == 0:
        return (0.0, 0.0)
    picks = np.random.default_rng(seed).integers(0, n, size=(rounds, n))
    offset = (np.arange(rounds) * k)[:, None]
    t, p = truth[picks] + offset, predicted[picks] + offset
    hits = np.bincount(t[t == p], minlength=rounds * k).reshape(rounds, k)
    true_counts = np.bincount(t.ravel(), minlength=rounds * k).reshape(rounds, k)
    pred_counts = np.bincount(p.ravel(), minlength=rounds * k).reshape(rounds, k)
    seen = (true_counts + pred_counts) > 0
    f1 = np.divide(2 * hits, true_counts + pred_counts, out=np.zeros((rounds, k)), where=seen)
    macro = f1.sum(axis=1) / seen.sum(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(macro, [tail, 100 - tail])
    return (float(low), float(high))


def _scores(y_true, y_pred, y_docs, doc_kinds: dict, seconds) -> CVResult:
    present = sorted(set(y_true) | set(y_pred))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=present, zero_division=0)
    truth, predicted, docs = np.array(y_true, dtype=object), np.array(y_pred, dtype=object), np.array(y_docs)
    kinds = np.array([doc_kinds.get(str(d), "unlisted") for d in y_docs])
    by_kind = {}
    for kind in sorted(set(kinds)):
        t, q = list(truth[kinds == kind]), list(predicted[kinds == kind])
        by_kind[str(kind)] = {"macro_f1": _macro_f1(t, q), "interval": bootstrap_interval(t, q),
                              "accuracy": float(np.mean(np.array(t) == np.array(q))), "n": len(t)}
    return CVResult(
        candidate="", feature_set=None,
        macro_f1=_macro_f1(y_true, y_pred),
        accuracy=float(np.mean(truth == predicted)),
        seconds=seconds, labels=present,
        per_class={lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                   for i, lab in enumerate(present)},
        confusion=confusion_matrix(y_true, y_pred, labels=present),
        y_true=list(y_true), y_pred=list(y_pred),
        interval=bootstrap_interval(y_true, y_pred),
        by_document={str(d): _macro_f1(list(truth[docs == d]), list(predicted[docs == d]))
                     for d in sorted(set(y_docs))},
        by_kind=by_kind)


def context_weights_cv(estimator, data: TaskData, weights: tuple[float, ...]) -> dict[float, CVResult]:
    """Leave-one-document-out area scores when each sentence's probabilities are mixed with
    those of its section outline at each weight (0 = the sentence alone)."""
    started = time.perf_counter()
    contexts = np.array(data.contexts, dtype=object)
    y_true, y_docs, predicted = [], [], {w: [] for w in weights}
    for fitted, texts, labels, docs, test in _held_out_folds(estimator, data):
        classes = list(fitted.classes_)
        own = fitted.predict_proba(texts)
        context = fitted.predict_proba([c or "" for c in contexts[test]])
        has_context = np.array([bool(c) for c in contexts[test]])
        y_true.extend(labels)
        y_docs.extend(docs)
        for w in weights:
            mixed = combine_with_context(own, context, has_context, w)
            predicted[w].extend(classes[i] for i in mixed.argmax(axis=1))
    seconds = time.perf_counter() - started
    return {w: _scores(y_true, predicted[w], y_docs, data.doc_kinds, seconds) for w in weights}


def compare(task: TaskData, cands: list[Candidate]) -> list[CVResult]:
    results = []
    for cand in cands:
        result = leave_one_document_out(cand.estimator, task)
        result.candidate, result.feature_set = cand.name, cand.feature_set
        results.append(result)
    return results


def best(results: list[CVResult]) -> CVResult:
    """The best model by macro-F1 (baselines are references, never kept)."""
    return max((r for r in results if r.feature_set), key=lambda r: r.macro_f1)


def _interval(r: CVResult) -> str:
    return f"{r.interval[0]:.3f}–{r.interval[1]:.3f}"


def _per_document(r: CVResult) -> str:
    return " / ".join(f"{f1:.2f}" for f1 in r.by_document.values())


def _per_kind(r: CVResult) -> str:
    return " / ".join(f"{m['macro_f1']:.3f}" for m in r.by_kind.values())


def _kind_table(result: CVResult) -> list[str]:
    lines = ["By document kind, kept model (the documents of each kind pooled):", "",
             "| kind | sentences | macro-F1 | 95 % interval | accuracy |", "|---|---|---|---|---|"]
    for kind, m in result.by_kind.items():
        lines.append(f"| {kind} | {m['n']} | {m['macro_f1']:.3f} | {m['interval'][0]:.3f}–{m['interval'][1]:.3f} "
                     f"| {m['accuracy']:.3f} |")
    return lines + [""]


def comparison_markdown(area: list[CVResult], category: list[CVResult], n_docs: int,
                        area_support: int, category_support: int,
                        by_weight: dict[float, CVResult], context_weight: float) -> str:
    documents = " / ".join(next(iter(area)).by_document)
    kinds = " / ".join(next(iter(area)).by_kind)
    lines = [
        "# Model comparison (leave-one-document-out cross-validation)",
        "",
        f"Written by `training/train.py`. {n_docs} documents; each fold trains on the others and is",
        "scored on the held-out document's `manual` body sentences, predictions pooled over folds.",
        f"Evaluation units: area {area_support}, category {category_support}.",
        "",
        f"The interval is a {BOOTSTRAP_LEVEL:.0%} percentile bootstrap of the pooled macro-F1 over the",
        f"evaluation sentences ({BOOTSTRAP_ROUNDS} rounds, seed {BOOTSTRAP_SEED}). It shows how much a",
        "few sentences move the figure (the rarest areas have a handful each); it cannot show how",
        "much a new report differs from these.",
        "",
        f"The per-document column ({documents}) is each held-out document's own macro-F1, over the",
        f"classes that document has. The per-kind column ({kinds}) pools the documents of each",
        "kind in data/documents.yaml: the tool reads annual reports, while a plan restates the",
        "outline's directives and reads differently.",
        "",
    ]
    for title, results in (("Area (11 classes), each sentence alone", area),
                           ("Category (concrete vs. slogan)", category)):
        chosen = best(results)
        lines += [f"## {title}", "",
                  "| candidate | macro-F1 | 95 % interval | per document | per kind | accuracy | CV seconds |",
                  "|---|---|---|---|---|---|---|"]
        for r in results:
            mark = " **(kept)**" if r is chosen else ""
            lines.append(f"| {r.candidate}{mark} | {r.macro_f1:.3f} | {_interval(r)} | {_per_document(r)} "
                         f"| {_per_kind(r)} | {r.accuracy:.3f} | {r.seconds:.1f} |")
        lines.append("")
        if results is area:
            lines += ["## Area with the report's section outline as context", "",
                      f"Kept area model ({chosen.candidate}); a sentence's probabilities are mixed with its",
                      "section outline's (headings and numbered lead sentences above it) at weight w.", "",
                      "| w | macro-F1 | 95 % interval | per document | per kind | accuracy |",
                      "|---|---|---|---|---|---|"]
            for w, r in by_weight.items():
                mark = " **(kept)**" if w == context_weight else ""
                lines.append(f"| {w:g}{mark} | {r.macro_f1:.3f} | {_interval(r)} | {_per_document(r)} "
                             f"| {_per_kind(r)} | {r.accuracy:.3f} |")
            lines.append("")
            chosen = by_weight[context_weight]
        lines += _kind_table(chosen)
        lines += ["Per class, kept model:", "",
                  "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for lab, m in chosen.per_class.items():
            lines.append(f"| {lab} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
        lines.append("")
    return "\n".join(lines)
