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

from fazhi.featurize import ANCHOR_CUES, ANCHORED_BY, COMPLETED_CUE, cue_counts
from fazhi.labels import LabelledUnit, SourceDocument, check_documents_listed, load_documents
from fazhi.model import CONCRETE, SLOGAN, build_pipeline, combine_with_structure, structure_parts
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
    kinds: list[str] = field(default_factory=list)  # heading / body / furniture of each unit
    starts: list[int | None] = field(default_factory=list)  # offset of each unit in its document, where known


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


def _training(task: str, units: list[LabelledUnit], documents: dict[str, SourceDocument]) -> list[LabelledUnit]:
    """The units of the documents that train `task` (data/documents.yaml, `trains`)."""
    return [u for u in units if task in documents[u.doc].trains]


def area_task(units: list[LabelledUnit], documents: dict[str, SourceDocument]) -> TaskData:
    """Every unit trains the area model (unless its document trains category only); manual body
    sentences are its evaluation truth."""
    units = _training("area", units, documents)
    return TaskData("area", [u.text for u in units], [u.area for u in units], [u.doc for u in units],
                    np.array([u.is_evaluation_truth and u.kind == "body" for u in units]),
                    report_contexts(units, documents), {d: documents[d].kind for d in documents},
                    [u.kind for u in units], [u.start for u in units])


def category_task(units: list[LabelledUnit], documents: dict[str, SourceDocument]) -> TaskData:
    chosen = [u for u in _training("category", units, documents) if u.category is not None]
    return TaskData("category", [u.text for u in chosen], [u.category for u in chosen],
                    [u.doc for u in chosen], np.array([u.is_evaluation_truth for u in chosen]),
                    doc_kinds={d: documents[d].kind for d in documents}, starts=[u.start for u in chosen])


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
    """`concrete` when the sentence carries any of the named cues: by default the guide's anchor
    cues (number with unit, amount, percentage, date, 《》 other than the generic titles, 文号)."""

    def __init__(self, generic_titles=(), cues=ANCHOR_CUES):
        self.generic_titles = generic_titles
        self.cues = cues

    def fit(self, X, y):
        self.classes_ = np.array(sorted(set(y)))
        self.generic_titles_ = tuple(normalize(t) for t in self.generic_titles)
        return self

    def predict(self, X):
        return np.array([CONCRETE if any(counts[c] for c in self.cues) else SLOGAN
                         for counts in (cue_counts(normalize(t), self.generic_titles_) for t in X)])


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


# The model feature sets compared on each task, in table order. Nested selection (training's
# "auto", inside every fold) chooses among all of them except, for category, the text blocks
# alone (shown for what the cues add). "anchor" is the anchor-cue rule as one learned feature
# (the rule with calibrated probabilities); "rare" is how much of a sentence is words the
# training sentences rarely use (fazhi.featurize.RareVocabulary).
AREA_CANDIDATE_SETS = ("word", "char", "word+char", "char+kw", "word+char+kw")
CATEGORY_CANDIDATE_SETS = ("anchor", "anchor+word", "anchor+word+char", "word", "char", "word+char", "word+cues",
                           "char+cues", "word+char+cues", "word+cues+rare", "char+cues+rare", "word+char+cues+rare")
AREA_FEATURE_SETS = AREA_CANDIDATE_SETS
CATEGORY_FEATURE_SETS = tuple(fs for fs in CATEGORY_CANDIDATE_SETS if fs not in ("word", "char"))


def candidates(task: str, taxonomy: Taxonomy, make=build_pipeline) -> list[Candidate]:
    """Rules, baselines and the TF-IDF variants compared for one task; `make` builds an
    unfitted pipeline from a feature set (training passes one with the run's hyperparameters)."""
    def model(feature_set):
        return Candidate(feature_set, make(feature_set), feature_set)
    if task == "area":
        # The rule reads every keyword list the taxonomy has (its strongest form).
        keywords = {a.id: list(a.keyword_list()) for a in taxonomy.areas if a.keyword_list()}
        return [Candidate("baseline: majority class", MajorityBaseline()),
                Candidate("rule: taxonomy keywords", KeywordAreaBaseline(keywords)),
                *map(model, AREA_CANDIDATE_SETS)]
    return [Candidate("baseline: majority class", MajorityBaseline()),
            Candidate("rule: anchor cues", CueRuleBaseline(taxonomy.generic_titles)),
            Candidate("rule: anchor cues + named actor's act",
                      CueRuleBaseline(taxonomy.generic_titles, ANCHORED_BY)),
            Candidate("rule: anchor cues + named actor's act + completed-act markers",
                      CueRuleBaseline(taxonomy.generic_titles, (*ANCHORED_BY, COMPLETED_CUE))),
            *map(model, CATEGORY_CANDIDATE_SETS)]


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


def evaluation_folds(data: TaskData, exclude: str | None = None):
    """Each document with evaluation units (other than `exclude`), in sorted order, with the
    mask of its evaluation units: the folds, and the order, in which leave-one-document-out
    pools its predictions."""
    docs = np.array(data.docs)
    for doc in sorted(set(data.docs) - {exclude}):
        test = (docs == doc) & data.evaluate
        if test.any():
            yield doc, test


def _held_out_folds(estimator, data: TaskData, exclude: str | None = None):
    """For each document with evaluation units (other than `exclude`, whose units neither
    train nor test): the estimator fitted on all other documents, then that document's
    evaluation texts, labels and documents, and their mask."""
    texts = np.array(data.texts, dtype=object)
    labels = np.array(data.labels, dtype=object)
    docs = np.array(data.docs)
    for doc, test in evaluation_folds(data, exclude):
        train = (docs != doc) & (docs != exclude)
        fitted = clone(estimator).fit(list(texts[train]), list(labels[train]))
        yield fitted, list(texts[test]), list(labels[test]), list(docs[test]), test


def pooled_order(data: TaskData) -> list[int]:
    """The units whose predictions leave-one-document-out pools, in its order (documents
    sorted, each one's evaluation units as they come): position k of a pooled result is unit
    pooled_order(data)[k]."""
    return [int(i) for _, test in evaluation_folds(data) for i in np.flatnonzero(test)]


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


def per_class_figures(y_true, y_pred) -> dict:
    """label → precision, recall, F1 and support, over the labels in the truth or predictions."""
    present = sorted(set(y_true) | set(y_pred))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=present, zero_division=0)
    return {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, lab in enumerate(present)}


def _scores(y_true, y_pred, y_docs, doc_kinds: dict, seconds) -> CVResult:
    present = sorted(set(y_true) | set(y_pred))
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
        per_class=per_class_figures(y_true, y_pred),
        confusion=confusion_matrix(y_true, y_pred, labels=present),
        y_true=list(y_true), y_pred=list(y_pred),
        interval=bootstrap_interval(y_true, y_pred),
        by_document={str(d): _macro_f1(list(truth[docs == d]), list(predicted[docs == d]))
                     for d in sorted(set(y_docs))},
        by_kind=by_kind)


# --- Nested leave-one-document-out: the choice never sees the document that scores it --------

# The report-structure settings tried for the area model: (outline weight, section weight).
STRUCTURE_GRID = tuple((wc, ws) for wc in (0.0, 0.25, 0.5, 1.0) for ws in (0.0, 0.5, 1.0, 2.0, 4.0))
NO_STRUCTURE = ((0.0, 0.0),)


@dataclass(frozen=True)
class Setting:
    """One candidate: a feature set and the weights of the report's structure (area only)."""

    feature_set: str
    context_weight: float = 0.0
    section_weight: float = 0.0

    @property
    def name(self) -> str:
        if not (self.context_weight or self.section_weight):
            return self.feature_set
        return f"{self.feature_set}, outline {self.context_weight:g}, section {self.section_weight:g}"


def _structured_predictions(fitted, data: TaskData, test: np.ndarray, grid) -> dict[tuple, tuple[list, list]]:
    """Predictions for the `test` units of one held-out document under each structure setting,
    with the probability each gives the true label.

    The outline's probabilities and the section averages are computed over all the document's
    prose units, as the served model does over a report's units (fazhi/model.py)."""
    docs = np.array(data.docs)
    doc = docs[test][0]
    in_doc = np.where((docs == doc) & (np.array(data.kinds or ["body"] * len(docs)) != "furniture"))[0]
    texts = [data.texts[i] for i in in_doc]
    contexts = [data.contexts[i] if data.contexts else "" for i in in_doc]
    classes = list(fitted.classes_)
    if any(w != (0.0, 0.0) for w in grid):
        own, outline, section, has_context = structure_parts(fitted.predict_proba, texts, contexts)
    else:
        own = fitted.predict_proba(texts)
    rows = [k for k, i in enumerate(in_doc) if test[i]]
    truth = [classes.index(data.labels[i]) if data.labels[i] in classes else None for i in in_doc if test[i]]
    out = {}
    for wc, ws in grid:
        mixed = combine_with_structure(own, outline, section, has_context, wc, ws) if (wc or ws) else own
        mixed = mixed[rows]
        out[(wc, ws)] = ([classes[j] for j in mixed.argmax(axis=1)],
                         [0.0 if j is None else float(row[j]) for row, j in zip(mixed, truth)])
    return out


def lodo_grid(make, data: TaskData, feature_set: str, grid=NO_STRUCTURE, exclude: str | None = None):
    """Leave-one-document-out over the evaluation documents other than `exclude` (whose units
    neither train nor test): pooled truth, documents, predictions under each setting, and the
    probability each setting gives the true label."""
    y_true, y_docs, predicted, true_proba = [], [], {w: [] for w in grid}, {w: [] for w in grid}
    for fitted, _, labels, docs, test in _held_out_folds(make(feature_set), data, exclude):
        y_true.extend(labels)
        y_docs.extend(docs)
        for w, (preds, proba) in _structured_predictions(fitted, data, test, grid).items():
            predicted[w].extend(preds)
            true_proba[w].extend(proba)
    return y_true, y_docs, predicted, true_proba


def _log_loss(true_proba) -> float:
    """Mean negative log of the probability given to the true label (clipped, as scikit-learn's)."""
    return float(-np.mean(np.log(np.clip(true_proba, 1e-15, 1.0)))) if len(true_proba) else 0.0


def _select(make, data: TaskData, feature_sets, grid, exclude=None) -> tuple[Setting, dict]:
    """The setting with the best pooled macro-F1 over leave-one-document-out folds, and every
    setting's figure. Ties (settings that decide alike, e.g. the anchor feature with and without
    text features) go to the lower log-loss, the better probabilities; then to the earlier
    feature set and the smaller weights."""
    figures, losses = {}, {}
    for feature_set in feature_sets:
        y_true, _, predicted, true_proba = lodo_grid(make, data, feature_set, grid, exclude)
        for (wc, ws), y_pred in predicted.items():
            setting = Setting(feature_set, wc, ws)
            figures[setting] = _macro_f1(y_true, y_pred)
            losses[setting] = _log_loss(true_proba[(wc, ws)])
    return max(figures, key=lambda s: (round(figures[s], 9), -losses[s])), figures


@dataclass
class NestedResult:
    """The nested figure: each held-out document scored by the setting chosen without it."""

    result: CVResult                       # pooled over the outer folds
    chosen: dict = field(default_factory=dict)   # held-out document → Setting chosen on the others
    selection: Setting | None = None       # the setting chosen on all documents (the one shipped)
    selection_figures: dict = field(default_factory=dict)  # Setting → its plain LODO macro-F1


def nested_lodo(make, data: TaskData, feature_sets, grid=NO_STRUCTURE) -> NestedResult:
    """Nested leave-one-document-out cross-validation.

    For each evaluation document: choose the feature set and structure weights by
    leave-one-document-out over the other documents only, fit the choice on all of them, and
    predict the held-out document. The pooled predictions give the headline figure; the
    setting chosen on all documents (by plain LODO) is what gets shipped, and its own plain
    LODO figure is optimistic, since it chose on the same folds.
    """
    started = time.perf_counter()
    docs = np.array(data.docs)
    labels = np.array(data.labels, dtype=object)
    y_true, y_pred, y_docs, chosen = [], [], [], {}
    for doc, test in evaluation_folds(data):
        setting, _ = _select(make, data, feature_sets, grid, exclude=doc)
        chosen[doc] = setting
        train = docs != doc
        fitted = make(setting.feature_set).fit([data.texts[i] for i in np.where(train)[0]], list(labels[train]))
        y_true.extend(labels[test])
        y_docs.extend(docs[test])
        y_pred.extend(_structured_predictions(fitted, data, test,
                                              [(setting.context_weight, setting.section_weight)]).popitem()[1][0])
    selection, figures = _select(make, data, feature_sets, grid)
    result = _scores(y_true, y_pred, y_docs, data.doc_kinds, time.perf_counter() - started)
    result.candidate = "nested choice"
    return NestedResult(result, chosen, selection, figures)


def compare(task: TaskData, cands: list[Candidate]) -> list[CVResult]:
    results = []
    for cand in cands:
        result = leave_one_document_out(cand.estimator, task)
        result.candidate, result.feature_set = cand.name, cand.feature_set
        results.append(result)
    return results


def _interval(r) -> str:
    return f"{r[0]:.3f}–{r[1]:.3f}"


def _per_document(r: CVResult) -> str:
    return " / ".join(f"{f1:.2f}" for f1 in r.by_document.values())


def _kind(r: CVResult, kind: str) -> dict:
    return r.by_kind.get(kind, {"macro_f1": float("nan"), "interval": (float("nan"),) * 2, "accuracy": float("nan")})


def better_rule(results: list[CVResult], kind: str) -> CVResult:
    """The rule with the best macro-F1 over documents of `kind`: what a model must beat."""
    return max((r for r in results if not r.feature_set and r.candidate.startswith("rule")),
               key=lambda r: _kind(r, kind)["macro_f1"])


def comparison_markdown(e: dict, headline_kind: str) -> str:
    """docs/model-comparison.md: the nested headline, the rules beside it, every candidate's
    plain LODO figure, what each fold chose, per kind and per class."""
    first = e["area_results"][0]
    documents = " / ".join(first.by_document)
    lines = [
        "# Model comparison (nested leave-one-document-out cross-validation)",
        "",
        f"Written by `training/train.py`. {len(first.by_document)} labelled documents with evaluation units "
        f"({documents}); each is held out in turn and scored on its `manual` body sentences, predictions pooled.",
        f"Evaluation units: area {int(e['area_data'].evaluate.sum())}, category {int(e['category_data'].evaluate.sum())}. "
        "Authored sentences, plan-annex rows and reviewers' exported decisions (`source: review`, "
        "documents of kind `review`) only ever train: a review label is a reviewer's reading of the model's "
        "own output, so it never enters an evaluation fold, and a reviewed report is never held out.",
        "",
        f"**Headline: the nested figure pooled over the `{headline_kind}` documents.** Inside each fold, the",
        "feature set and the weights of the report's structure are chosen by leave-one-document-out over the",
        "other documents only; the choice is fitted on them and scores the held-out document, which took",
        "no part in choosing. The rules need no choice: their plain figure is already honest. The",
        "plain LODO figure of each candidate below is descriptive; picking the best of them on the",
        "same folds would flatter it (the shipped setting's plain figure is shown as `selection`).",
        "",
        f"Intervals: {BOOTSTRAP_LEVEL:.0%} percentile bootstrap over the evaluation sentences ({BOOTSTRAP_ROUNDS} rounds, seed",
        f"{BOOTSTRAP_SEED}); they show how much a few sentences move a figure, not how much the next report differs.",
        "",
    ]
    for task, title in (("area", "Area (11 classes)"), ("category", "Category (concrete vs. slogan)")):
        nested = e[f"{task}_nested"]
        results = e[f"{task}_results"]
        rules = [r for r in results if not r.feature_set]
        head = _kind(nested.result, headline_kind)
        best_rule = better_rule(results, headline_kind)
        margin = head["macro_f1"] - _kind(best_rule, headline_kind)["macro_f1"]
        lines += [f"## {title}", "",
                  f"| | macro-F1, {headline_kind} | 95 % interval | all documents | per document ({documents}) |",
                  "|---|---|---|---|---|",
                  f"| **nested choice (headline)** | **{head['macro_f1']:.3f}** | {_interval(head['interval'])} "
                  f"| {nested.result.macro_f1:.3f} | {_per_document(nested.result)} |"]
        for r in rules:
            k = _kind(r, headline_kind)
            lines.append(f"| {r.candidate} | {k['macro_f1']:.3f} | {_interval(k['interval'])} | {r.macro_f1:.3f} "
                         f"| {_per_document(r)} |")
        lines += ["", f"Nested choice minus the better rule ({best_rule.candidate}): **{margin:+.3f}**.", "",
                  "Chosen in each fold (on the other documents only): "
                  + "; ".join(f"{doc}: {s.name}" for doc, s in nested.chosen.items()) + ".",
                  f"Shipped (chosen on all documents): **{nested.selection.name}**, plain LODO "
                  f"{nested.selection_figures[nested.selection]:.3f} over all documents (selection figure, optimistic).", "",
                  "Every candidate, plain leave-one-document-out (descriptive):", "",
                  f"| candidate | macro-F1, {headline_kind} | all documents | per document | accuracy | CV seconds |",
                  "|---|---|---|---|---|---|"]
        for r in results:
            lines.append(f"| {r.candidate} | {_kind(r, headline_kind)['macro_f1']:.3f} | {r.macro_f1:.3f} "
                         f"| {_per_document(r)} | {r.accuracy:.3f} | {r.seconds:.1f} |")
        if task == "area":
            structure = {}
            for setting, f1 in nested.selection_figures.items():
                if setting.feature_set == nested.selection.feature_set:
                    structure[(setting.context_weight, setting.section_weight)] = f1
            weights = sorted({w for w, _ in structure})
            section = sorted({w for _, w in structure})
            lines += ["", f"Structure, plain LODO over all documents ({nested.selection.feature_set}): rows are the",
                      "outline weight (the headings and numbered lead sentences above a sentence, classified as one",
                      "text), columns the section weight (the average of the section's sentences).", "",
                      "| outline \\ section | " + " | ".join(f"{w:g}" for w in section) + " |",
                      "|---|" + "---|" * len(section)]
            for wc in weights:
                lines.append(f"| {wc:g} | " + " | ".join(f"{structure[(wc, ws)]:.3f}" for ws in section) + " |")
        lines += ["", "By document kind, nested choice:", "",
                  "| kind | sentences | macro-F1 | 95 % interval | accuracy |", "|---|---|---|---|---|"]
        for kind, m in nested.result.by_kind.items():
            lines.append(f"| {kind} | {m['n']} | {m['macro_f1']:.3f} | {_interval(m['interval'])} | {m['accuracy']:.3f} |")
        lines += ["", "Per class, nested choice (all documents):", "",
                  "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for lab, m in nested.result.per_class.items():
            lines.append(f"| {lab} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
        lines.append("")
    return "\n".join(lines)
