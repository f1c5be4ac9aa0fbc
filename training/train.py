"""Train, evaluate, log and register the fazhi sentence classifier (MLflow entry point `train`).

    mlflow run . -e train --env-manager local
    python -m training.train [--area-features auto] [--category-features auto] [--C 0.5] ...

Evaluates with nested leave-one-document-out CV (features and the weight of the report's
structure chosen inside each fold, never on the document that scores them), next to the
keyword and anchor-cue rules; ships the setting chosen on all documents, fitted on all labels;
logs parameters, metrics, figures, the comparison table and the model to MLflow, registers a
version and moves the `champion` alias to it only when it is at least as good as the champion
on the same data (see training/registry.py).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from fazhi.inference import compile_pipeline
from fazhi.labels import AUTHORED_SOURCE, TASKS, LabelError, load_documents, load_labels, labels_hash
from fazhi.model import SentenceClassifier, build_pipeline
from fazhi.paths import DOCUMENTS_FILE, LABELS_DIR, PROBE_DIR, PROJ_ROOT
from fazhi.taxonomy import load_taxonomy
from training import evaluate
from training.agreement import ceiling_figures, ceiling_markdown, ceiling_metrics
from training.invariance import actor_flip_rates
from training.probe import load_probe, probe_figures, probe_markdown, probe_metrics
from training.registry import (CHAMPION_ALIAS, PROMOTION_METRICS, REGISTERED_MODEL, committed_model_tags,
                               log_classifier, promote_if_better, tracking_uri)

# Defaults live here and in MLproject's parameter defaults (which mirror them).
DEFAULTS = dict(area_features="auto", category_features="auto", C=0.5, max_df=1.0, char_ngram_max=3,
                keyword_sets="keywords+outline_2021_keywords", class_weight="none")
# The document kind the headline figures pool over: the tool reads annual reports.
HEADLINE_KIND = "annual_report"
COMPARISON_FILE = PROJ_ROOT / "docs" / "model-comparison.md"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n")[0])
    parser.add_argument("--labels-dir", type=Path, default=LABELS_DIR)
    parser.add_argument("--documents", type=Path, default=None,
                        help="the document list (default: documents.yaml beside the labels folder, "
                             f"else {DOCUMENTS_FILE.relative_to(PROJ_ROOT)})")
    parser.add_argument("--area-features", default=DEFAULTS["area_features"],
                        help='feature set for the area model, e.g. "word+char+kw"; "auto" chooses by nested CV')
    parser.add_argument("--category-features", default=DEFAULTS["category_features"],
                        help='feature set for the category model, e.g. "word+cues"; "auto" chooses by nested CV')
    parser.add_argument("--C", type=float, default=DEFAULTS["C"], help="inverse regularisation of the linear SVMs")
    parser.add_argument("--max-df", type=float, default=DEFAULTS["max_df"])
    parser.add_argument("--char-ngram-max", type=int, default=DEFAULTS["char_ngram_max"])
    parser.add_argument("--keyword-sets", default=DEFAULTS["keyword_sets"],
                        help="the taxonomy keyword lists the kw features read, joined by +")
    parser.add_argument("--class-weight", default=DEFAULTS["class_weight"], choices=("balanced", "none"))
    parser.add_argument("--without-authored", action="store_true",
                        help="train without the authored sentences (source: authored), to measure them")
    parser.add_argument("--without-document", action="append", default=[], metavar="DOC",
                        help="train without this document's labels (repeatable), to measure them")
    parser.add_argument("--trains-both", action="append", default=[], metavar="DOC",
                        help="let DOC train both tasks whatever its `trains` in data/documents.yaml says, "
                             "to measure that (repeatable)")
    parser.add_argument("--probe-dir", type=Path, default=PROBE_DIR,
                        help="invented reports scored apart, never trained on (training/probe.py)")
    parser.add_argument("--registered-model", default=REGISTERED_MODEL)
    parser.add_argument("--experiment", default="fazhi")
    parser.add_argument("--write-comparison", type=Path, default=None,
                        help=f"also write the comparison table here (the committed one is {COMPARISON_FILE.relative_to(PROJ_ROOT)})")
    return parser.parse_args(argv)


def _feature_sets(requested: str, default: tuple[str, ...], results: list[evaluate.CVResult]) -> tuple[str, ...]:
    if requested == "auto":
        return default
    known = {r.feature_set for r in results if r.feature_set} | set(default)
    if requested not in known:
        raise SystemExit(f"error: feature set {requested!r} is not among the candidates: " + ", ".join(sorted(known)))
    return (requested,)


def _confusion_figure(result: evaluate.CVResult, title: str, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * len(result.labels), 0.8 + 0.6 * len(result.labels)))
    ConfusionMatrixDisplay(result.confusion, display_labels=result.labels).plot(
        ax=ax, xticks_rotation=45, colorbar=False)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def model_factory(args: argparse.Namespace):
    """feature set → an unfitted pipeline with the run's hyperparameters."""
    hyper = dict(C=args.C, max_df=args.max_df, char_ngram_max=args.char_ngram_max,
                 keyword_sets=tuple(args.keyword_sets.split("+")),
                 class_weight=None if args.class_weight == "none" else args.class_weight)
    return lambda feature_set: build_pipeline(feature_set, **hyper)


def documents_file(args: argparse.Namespace) -> Path:
    if args.documents:
        return args.documents
    beside = Path(args.labels_dir).parent / "documents.yaml"
    return beside if beside.is_file() else DOCUMENTS_FILE


def evaluate_all(args: argparse.Namespace, taxonomy=None) -> dict:
    """Every figure of one training run: the plain LODO table of all candidates and rules, and
    the nested figures of the area and category choices (the headline)."""
    taxonomy = taxonomy or load_taxonomy()
    units = load_labels(args.labels_dir, taxonomy)
    if args.without_authored:
        units = [u for u in units if u.source != AUTHORED_SOURCE]
    documents_path = documents_file(args)
    documents = load_documents(documents_path)
    unknown = sorted(set(args.without_document + args.trains_both) - set(documents))
    if unknown:
        raise LabelError(f"no document {', '.join(map(repr, unknown))} in {documents_path}")
    units = [u for u in units if u.doc not in args.without_document]
    documents = {doc: replace(d, trains=TASKS) if doc in args.trains_both else d for doc, d in documents.items()}
    area_data, category_data = evaluate.build_tasks(units, documents)
    make = model_factory(args)
    area_results = evaluate.compare(area_data, evaluate.candidates("area", taxonomy, make))
    category_results = evaluate.compare(category_data, evaluate.candidates("category", taxonomy, make))
    area_nested = evaluate.nested_lodo(make, area_data, _feature_sets(args.area_features, evaluate.AREA_FEATURE_SETS,
                                                                      area_results), evaluate.STRUCTURE_GRID)
    category_nested = evaluate.nested_lodo(make, category_data, _feature_sets(
        args.category_features, evaluate.CATEGORY_FEATURE_SETS, category_results))
    return dict(units=units, area_data=area_data, category_data=category_data, make=make,
                area_results=area_results, category_results=category_results,
                area_nested=area_nested, category_nested=category_nested)


def headline_metrics(e: dict) -> dict:
    """The nested figures, pooled over annual reports (the headline) and over all documents."""
    metrics = {}
    for prefix in ("area", "category"):
        nested = e[f"{prefix}_nested"].result
        headline = nested.by_kind[HEADLINE_KIND]
        metrics[f"{prefix}_macro_f1"] = headline["macro_f1"]
        metrics[f"{prefix}_macro_f1_low"], metrics[f"{prefix}_macro_f1_high"] = headline["interval"]
        metrics[f"{prefix}_accuracy"] = headline["accuracy"]
        metrics[f"{prefix}_macro_f1_all"] = nested.macro_f1
        metrics[f"{prefix}_macro_f1_all_low"], metrics[f"{prefix}_macro_f1_all_high"] = nested.interval
        metrics[f"{prefix}_accuracy_all"] = nested.accuracy
        for doc, f1 in nested.by_document.items():
            metrics[f"{prefix}_macro_f1_doc_{doc}"] = f1
        for kind, m in nested.by_kind.items():
            metrics[f"{prefix}_macro_f1_{kind}"] = m["macro_f1"]
            metrics[f"{prefix}_macro_f1_{kind}_low"], metrics[f"{prefix}_macro_f1_{kind}_high"] = m["interval"]
        for label, m in nested.per_class.items():
            for key in ("precision", "recall", "f1"):
                metrics[f"{prefix}_{key}_{label}"] = m[key]
        # The shipped setting's plain LODO figure (chosen on the same folds: optimistic).
        selection = e[f"{prefix}_nested"]
        metrics[f"{prefix}_macro_f1_selection"] = selection.selection_figures[selection.selection]
        for r in e[f"{prefix}_results"]:
            if not r.feature_set:  # rules and baselines, on the same units, for reference
                slug = re.sub(r"[^a-z0-9]+", "_", r.candidate.split(":", 1)[1].strip().lower()).strip("_")
                metrics[f"{prefix}_baseline_{slug}_macro_f1"] = r.by_kind[HEADLINE_KIND]["macro_f1"]
                metrics[f"{prefix}_baseline_{slug}_macro_f1_all"] = r.macro_f1
    return metrics


def run(args: argparse.Namespace) -> dict:
    import mlflow

    started = time.perf_counter()
    taxonomy = load_taxonomy()
    data_hash = labels_hash(args.labels_dir, documents_file(args))
    e = evaluate_all(args, taxonomy)
    units, area_data, category_data, make = e["units"], e["area_data"], e["category_data"], e["make"]
    area_setting, category_setting = e["area_nested"].selection, e["category_nested"].selection
    table = evaluate.comparison_markdown(e, HEADLINE_KIND)
    metrics = headline_metrics(e)
    hyper = dict(C=args.C, max_df=args.max_df, char_ngram_max=args.char_ngram_max,
                 keyword_sets=args.keyword_sets, class_weight=args.class_weight)

    # Fitted with scikit-learn, served compiled to numpy (same probabilities, fast start-up).
    classifier = SentenceClassifier(
        area_pipeline=compile_pipeline(make(area_setting.feature_set).fit(area_data.texts, area_data.labels)),
        category_pipeline=compile_pipeline(
            make(category_setting.feature_set).fit(category_data.texts, category_data.labels)),
        area_ids=taxonomy.area_ids, off_topic_area=taxonomy.off_topic_id,
        context_weight=area_setting.context_weight, section_weight=area_setting.section_weight)

    flips = actor_flip_rates(classifier, units)
    metrics["actor_flip_rate_category"] = flips["category_flip_rate"]
    metrics["actor_flip_rate_area"] = flips["area_flip_rate"]
    table += ("\n## Actor invariance (training/invariance.py)\n\nThe shipped model, over the "
              f"{flips['sentences']} labelled concrete sentences that name 我区/全区/区政府/区X局, each with the "
              f"actor replaced by the city's, the province's and the county's ({flips['variants']} variants): "
              f"category flips {flips['category_flip_rate']:.1%}, area flips {flips['area_flip_rate']:.1%}.\n")
    # How closely a second labeller agrees with the labels: the most a figure can mean.
    ceiling = ceiling_figures(e, HEADLINE_KIND, labels_dir=args.labels_dir)
    if ceiling:
        metrics.update(ceiling_metrics(ceiling, HEADLINE_KIND))
        table += "\n" + ceiling_markdown(ceiling, HEADLINE_KIND)
    # Invented reports of kinds the seeds lack: a check reported apart, never trained or chosen on.
    probe_reports = load_probe(args.probe_dir, taxonomy)
    if probe_reports:
        figures = probe_figures(classifier, probe_reports, units, taxonomy)
        metrics.update(probe_metrics(figures))
        table += "\n" + probe_markdown(figures)

    mlflow.set_tracking_uri(tracking_uri())
    experiment_id = os.environ.get("MLFLOW_EXPERIMENT_ID") or _experiment_id(args.experiment)
    with mlflow.start_run(experiment_id=experiment_id) as active, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        params = {"area_feature_set": area_setting.feature_set, "category_feature_set": category_setting.feature_set,
                  **hyper, "n_units": len(units), "n_documents": len(set(area_data.docs)),
                  "n_area_eval": int(area_data.evaluate.sum()), "n_category_eval": int(category_data.evaluate.sum()),
                  "data_hash": data_hash, "taxonomy_version": taxonomy.version,
                  "context_weight": area_setting.context_weight, "section_weight": area_setting.section_weight,
                  "without_authored": args.without_authored,
                  "without_documents": "+".join(args.without_document),
                  "trains_both": "+".join(args.trains_both),
                  **{f"n_units_{source}": n for source, n in sorted(Counter(u.source for u in units).items())},
                  "evaluation": "nested leave-one-document-out"}
        # `mlflow run` has already logged the entry point's parameters; MLflow refuses re-logging.
        already = mlflow.get_run(active.info.run_id).data.params
        mlflow.log_params({k: v for k, v in params.items() if k not in already})
        mlflow.set_tags({"data_hash": data_hash, "taxonomy_version": taxonomy.version})
        mlflow.log_metrics(metrics)
        # What the model was fitted on, unit by unit: whose labels (manual, authored, review).
        with open(tmp / "training-set.jsonl", "w", encoding="utf-8") as fh:
            for u in units:
                fh.write(json.dumps({"doc": u.doc, "source": u.source, "kind": u.kind, "text": u.text,
                                     "area": u.area, "category": u.category}, ensure_ascii=False) + "\n")
        mlflow.log_artifact(str(tmp / "training-set.jsonl"), "data")
        (tmp / "model-comparison.md").write_text(table, encoding="utf-8")
        mlflow.log_artifact(str(tmp / "model-comparison.md"), "evaluation")
        for name in ("area", "category"):
            result = e[f"{name}_nested"].result
            mlflow.log_artifact(str(_confusion_figure(result, f"{name}: nested LODO CV", tmp / f"confusion-{name}.png")),
                                "evaluation")
            (tmp / f"per-class-{name}.json").write_text(json.dumps(result.per_class, indent=2))
            mlflow.log_artifact(str(tmp / f"per-class-{name}.json"), "evaluation")
        reported = {k: round(v, 4) for k, v in metrics.items()
                    if not re.match(r"(area|category)_(precision|recall|f1)_", k)}
        classifier.info = {"metrics": reported, "data_hash": data_hash, "taxonomy_version": taxonomy.version,
                           "area_features": area_setting.feature_set,
                           "category_features": category_setting.feature_set,
                           "run_id": active.info.run_id, "context_weight": area_setting.context_weight,
                           "section_weight": area_setting.section_weight,
                           "evaluation_units": {"area": int(area_data.evaluate.sum()),
                                                "category": int(category_data.evaluate.sum())}, **hyper}
        version = log_classifier(classifier, tmp, args.registered_model)
        promoted = promote_if_better(args.registered_model, version, metrics, data_hash,
                                     rescore=lambda tags: _rescore(e, args, tags),
                                     committed=committed_model_tags() if args.registered_model == REGISTERED_MODEL
                                     else None)
        mlflow.set_tag("promoted", str(promoted))
    if args.write_comparison:
        args.write_comparison.parent.mkdir(parents=True, exist_ok=True)
        args.write_comparison.write_text(table, encoding="utf-8")
    return {"run_id": active.info.run_id, "version": version, "promoted": promoted,
            "metrics": {k: metrics[k] for k in PROMOTION_METRICS},
            "area_features": area_setting.name, "category_features": category_setting.name,
            "seconds": round(time.perf_counter() - started, 1)}


def _plain_figures(e: dict, make, area_setting, category_setting) -> dict:
    """Plain LODO macro-F1 over the headline kind of one fixed pair of settings, on this run's units."""
    figures = {}
    for key, data, setting in (("area_macro_f1", e["area_data"], area_setting),
                               ("category_macro_f1", e["category_data"], category_setting)):
        weights = (setting.context_weight, setting.section_weight)
        y_true, y_docs, predicted, _ = evaluate.lodo_grid(make, data, setting.feature_set, (weights,))
        kinds = [data.doc_kinds.get(d) for d in y_docs]
        pairs = [(t, p) for t, p, k in zip(y_true, predicted[weights], kinds) if k == HEADLINE_KIND]
        figures[key] = evaluate._macro_f1([t for t, _ in pairs], [p for _, p in pairs])
    return figures


def _rescore(e: dict, args: argparse.Namespace, champion_tags: dict) -> tuple[dict, dict]:
    """The new model's and the champion's settings evaluated on the same units and folds."""
    ours = _plain_figures(e, e["make"], e["area_nested"].selection, e["category_nested"].selection)
    theirs_args = argparse.Namespace(**{**vars(args), **{
        k: type(getattr(args, k))(champion_tags[k]) for k in ("C", "max_df", "char_ngram_max", "keyword_sets",
                                                               "class_weight") if k in champion_tags}})
    theirs = _plain_figures(
        e, model_factory(theirs_args),
        evaluate.Setting(champion_tags.get("area_features", "char+kw"), float(champion_tags.get("context_weight", 0)),
                         float(champion_tags.get("section_weight", 0))),
        evaluate.Setting(champion_tags.get("category_features", "word+cues")))
    return ours, theirs


def _experiment_id(name: str) -> str:
    """The experiment's id, creating it with its artifacts beside a local SQLite store."""
    import mlflow
    from training.registry import artifact_location

    experiment = mlflow.get_experiment_by_name(name)
    if experiment:
        return experiment.experiment_id
    return mlflow.create_experiment(name, artifact_location=artifact_location(tracking_uri()))


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        summary = run(args)
    except LabelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    outcome = (f"{CHAMPION_ALIAS} -> v{summary['version']}" if summary["promoted"] else
               "not promoted: the champion, or in a store without one the committed model, is better")
    print(f"trained {args.registered_model} v{summary['version']} ({outcome}) in {summary['seconds']}s: "
          f"area {summary['area_features']} macro-F1 {summary['metrics']['area_macro_f1']:.3f}, "
          f"category {summary['category_features']} macro-F1 {summary['metrics']['category_macro_f1']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
