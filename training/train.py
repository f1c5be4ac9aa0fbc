"""Train, evaluate, log and register the fazhi sentence classifier (MLflow entry point `train`).

    mlflow run . -e train --env-manager local
    python -m training.train [--area-features auto] [--category-features auto] [--C 0.5] ...

Compares the candidates of `training.evaluate` with leave-one-document-out CV, keeps the best
per task (or the named feature sets), fits it on all labels, logs parameters, metrics, figures,
the comparison table and the model to MLflow, registers a version of the registered model
and moves the `champion` alias to it only when it is at least as good as the champion.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from fazhi.inference import compile_pipeline
from fazhi.labels import LabelError, load_labels, labels_hash
from fazhi.model import SentenceClassifier, build_pipeline
from fazhi.paths import LABELS_DIR, PROJ_ROOT
from fazhi.taxonomy import load_taxonomy
from training import evaluate
from training.registry import (CHAMPION_ALIAS, PROMOTION_METRICS, REGISTERED_MODEL, log_classifier,
                               promote_if_better, tracking_uri)

# Defaults live here and in MLproject's parameter defaults (which mirror them).
DEFAULTS = dict(area_features="auto", category_features="auto", C=0.5, max_df=1.0, char_ngram_max=3)
# Weights of the section outline's area probabilities tried by CV (0 = sentence alone).
CONTEXT_WEIGHTS = (0.0, 0.25, 0.5, 1.0)
COMPARISON_FILE = PROJ_ROOT / "docs" / "model-comparison.md"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n")[0])
    parser.add_argument("--labels-dir", type=Path, default=LABELS_DIR)
    parser.add_argument("--area-features", default=DEFAULTS["area_features"],
                        help='feature set for the area model, e.g. "word+char+kw"; "auto" keeps the CV best')
    parser.add_argument("--category-features", default=DEFAULTS["category_features"],
                        help='feature set for the category model, e.g. "word+cues"; "auto" keeps the CV best')
    parser.add_argument("--C", type=float, default=DEFAULTS["C"], help="inverse regularisation of the linear SVMs")
    parser.add_argument("--max-df", type=float, default=DEFAULTS["max_df"])
    parser.add_argument("--char-ngram-max", type=int, default=DEFAULTS["char_ngram_max"])
    parser.add_argument("--registered-model", default=REGISTERED_MODEL)
    parser.add_argument("--experiment", default="fazhi")
    parser.add_argument("--write-comparison", type=Path, default=None,
                        help=f"also write the comparison table here (the committed one is {COMPARISON_FILE.relative_to(PROJ_ROOT)})")
    return parser.parse_args(argv)


def _chosen(results: list[evaluate.CVResult], requested: str) -> evaluate.CVResult:
    if requested == "auto":
        return evaluate.best(results)
    for result in results:
        if result.feature_set == requested:
            return result
    raise SystemExit(f"error: feature set {requested!r} is not among the candidates: "
                     + ", ".join(r.feature_set for r in results if r.feature_set))


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


def run(args: argparse.Namespace) -> dict:
    import mlflow

    started = time.perf_counter()
    taxonomy = load_taxonomy()
    units = load_labels(args.labels_dir, taxonomy)
    data_hash = labels_hash(args.labels_dir)
    area_data, category_data = evaluate.build_tasks(units)
    hyper = dict(C=args.C, max_df=args.max_df, char_ngram_max=args.char_ngram_max)

    area_results = evaluate.compare(area_data, evaluate.candidates("area", taxonomy, **hyper))
    category_results = evaluate.compare(category_data, evaluate.candidates("category", taxonomy, **hyper))
    area_best = _chosen(area_results, args.area_features)
    category_best = _chosen(category_results, args.category_features)
    by_weight = evaluate.context_weights_cv(build_pipeline(area_best.feature_set, **hyper), area_data,
                                            CONTEXT_WEIGHTS)
    context_weight = max(by_weight, key=lambda w: (by_weight[w].macro_f1, -w))
    area_in_reports = by_weight[context_weight]
    table = evaluate.comparison_markdown(area_results, category_results, len(set(area_data.docs)),
                                         int(area_data.evaluate.sum()), int(category_data.evaluate.sum()),
                                         by_weight, context_weight)

    # Fitted with scikit-learn, served compiled to numpy (same probabilities, fast start-up).
    classifier = SentenceClassifier(
        area_pipeline=compile_pipeline(
            build_pipeline(area_best.feature_set, **hyper).fit(area_data.texts, area_data.labels)),
        category_pipeline=compile_pipeline(
            build_pipeline(category_best.feature_set, **hyper).fit(category_data.texts, category_data.labels)),
        area_ids=taxonomy.area_ids, off_topic_area=taxonomy.off_topic_id, context_weight=context_weight)

    # Headline area figures are for sentences read in their report (with section context);
    # the `_sentence` figures are for sentences classified alone (classify --sentences).
    metrics = {"area_macro_f1": area_in_reports.macro_f1, "area_accuracy": area_in_reports.accuracy,
               "area_macro_f1_sentence": area_best.macro_f1, "area_accuracy_sentence": area_best.accuracy,
               "category_macro_f1": category_best.macro_f1, "category_accuracy": category_best.accuracy}
    for prefix, result in (("area", area_in_reports), ("category", category_best)):
        metrics[f"{prefix}_macro_f1_low"], metrics[f"{prefix}_macro_f1_high"] = result.interval
        for doc, f1 in result.by_document.items():
            metrics[f"{prefix}_macro_f1_doc_{doc}"] = f1
        for kind, m in result.by_kind.items():
            metrics[f"{prefix}_macro_f1_{kind}"] = m["macro_f1"]
            metrics[f"{prefix}_macro_f1_{kind}_low"], metrics[f"{prefix}_macro_f1_{kind}_high"] = m["interval"]
        for label, m in result.per_class.items():
            for key in ("precision", "recall", "f1"):
                metrics[f"{prefix}_{key}_{label}"] = m[key]
    for prefix, results in (("area", area_results), ("category", category_results)):
        for r in results:
            if not r.feature_set:  # baselines, for reference next to the kept model
                slug = r.candidate.split(":", 1)[1].strip().replace(" ", "_").replace("-", "_")
                metrics[f"{prefix}_baseline_{slug}_macro_f1"] = r.macro_f1

    mlflow.set_tracking_uri(tracking_uri())
    experiment_id = os.environ.get("MLFLOW_EXPERIMENT_ID") or _experiment_id(args.experiment)
    with mlflow.start_run(experiment_id=experiment_id) as active, tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        params = {"area_feature_set": area_best.feature_set, "category_feature_set": category_best.feature_set,
                  **hyper, "n_units": len(units), "n_documents": len(set(area_data.docs)),
                  "n_area_eval": int(area_data.evaluate.sum()), "n_category_eval": int(category_data.evaluate.sum()),
                  "data_hash": data_hash, "taxonomy_version": taxonomy.version,
                  "context_weight": context_weight, "evaluation": "leave-one-document-out"}
        # `mlflow run` has already logged the entry point's parameters; MLflow refuses re-logging.
        already = mlflow.get_run(active.info.run_id).data.params
        mlflow.log_params({k: v for k, v in params.items() if k not in already})
        mlflow.set_tags({"data_hash": data_hash, "taxonomy_version": taxonomy.version})
        mlflow.log_metrics(metrics)
        (tmp / "model-comparison.md").write_text(table, encoding="utf-8")
        mlflow.log_artifact(str(tmp / "model-comparison.md"), "evaluation")
        for name, result in (("area", area_in_reports), ("category", category_best)):
            mlflow.log_artifact(str(_confusion_figure(result, f"{name}: {result.candidate} (LODO CV)",
                                                      tmp / f"confusion-{name}.png")), "evaluation")
            (tmp / f"per-class-{name}.json").write_text(json.dumps(result.per_class, indent=2))
            mlflow.log_artifact(str(tmp / f"per-class-{name}.json"), "evaluation")
        reported = PROMOTION_METRICS + ("area_macro_f1_low", "area_macro_f1_high", "area_accuracy",
                                        "area_macro_f1_sentence", "category_macro_f1_low",
                                        "category_macro_f1_high", "category_accuracy")
        reported += tuple(f"{prefix}_macro_f1_{kind}{end}" for prefix, result in
                          (("area", area_in_reports), ("category", category_best))
                          for kind in result.by_kind for end in ("", "_low", "_high"))
        classifier.info = {"metrics": {k: round(metrics[k], 4) for k in reported},
                           "data_hash": data_hash, "taxonomy_version": taxonomy.version,
                           "area_features": area_best.feature_set, "category_features": category_best.feature_set,
                           "run_id": active.info.run_id, "context_weight": context_weight, **hyper}
        version = log_classifier(classifier, tmp, args.registered_model)
        promoted = promote_if_better(args.registered_model, version, metrics)
        mlflow.set_tag("promoted", str(promoted))
    if args.write_comparison:
        args.write_comparison.parent.mkdir(parents=True, exist_ok=True)
        args.write_comparison.write_text(table, encoding="utf-8")
    return {"run_id": active.info.run_id, "version": version, "promoted": promoted,
            "metrics": {k: metrics[k] for k in PROMOTION_METRICS},
            "area_features": area_best.feature_set, "category_features": category_best.feature_set,
            "seconds": round(time.perf_counter() - started, 1)}


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
    outcome = f"{CHAMPION_ALIAS} -> v{summary['version']}" if summary["promoted"] else "champion kept"
    print(f"trained {args.registered_model} v{summary['version']} ({outcome}) in {summary['seconds']}s: "
          f"area {summary['area_features']} macro-F1 {summary['metrics']['area_macro_f1']:.3f}, "
          f"category {summary['category_features']} macro-F1 {summary['metrics']['category_macro_f1']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
