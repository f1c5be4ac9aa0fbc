"""The probe: invented whole reports of kinds the seeds lack, scored by a fitted model.

    python -m training.probe [--model models/fazhi-model.joblib] [--json]

The labelled seeds are three district and municipal reports from one province. The reports the
tool is for come from every level and from departments, in both outlines' eras. data/probe/
holds reports the team wrote for those kinds (governments from the province to the township and
city, county and provincial departments; its README lists them), each a text file beside its
labels (`<name>.txt`, `<name>.jsonl`, units with offsets as the splitter cuts them), labelled by
the guide. They never train: training reads data/labels/ only.

A probe report is classified as the service classifies an upload (split, outline and section
weights), and the rules score the same units. The figure checks that the model holds on such
kinds; it is not the headline and not evidence of accuracy on real reports: the probe is the
team's own writing, as the authored training sentences are, so it flatters the model where it
shares their voice. No setting is chosen on it.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fazhi.classify import classify_report
from fazhi.labels import LabelError, LabelledUnit, load_labels
from fazhi.model import ModelError, SentenceClassifier, load_classifier
from fazhi.paths import DEFAULT_MODEL_FILE, LABELS_DIR, PROBE_DIR
from fazhi.splitter import split_units
from fazhi.taxonomy import Taxonomy, load_taxonomy
from training import evaluate


@dataclass
class ProbeReport:
    name: str
    text: str
    units: list[LabelledUnit]


def _natural_order(path: Path) -> list:
    """p2 before p10: the numbers in a file's name compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def load_probe(directory: Path = PROBE_DIR, taxonomy: Taxonomy | None = None) -> list[ProbeReport]:
    """Every labelled probe report in `directory`: `<name>.jsonl` with `<name>.txt` beside it.
    Raises LabelError when a label file has no report or a label's offsets are not a unit of it."""
    taxonomy = taxonomy or load_taxonomy()
    reports = []
    for labels in sorted(Path(directory).glob("*.jsonl"), key=_natural_order):
        source = labels.with_suffix(".txt")
        if not source.is_file():
            raise LabelError(f"{labels}: no report {source.name} beside it")
        text = source.read_text(encoding="utf-8")
        units = load_labels(labels.parent, taxonomy, files=[labels])
        starts = {u.start for u in split_units(text)}
        for unit in units:
            if unit.start not in starts:
                raise LabelError(f"{unit.where}: no unit of {source.name} starts at offset {unit.start} "
                                 "(split the report again and label its units)")
        reports.append(ProbeReport(labels.stem, text, units))
    return reports


def _rules(taxonomy: Taxonomy) -> dict[str, list[evaluate.Candidate]]:
    """The rules of the cross-validation's tables (baselines and models left out)."""
    return {task: [c for c in evaluate.candidates(task, taxonomy) if c.feature_set is None
                   and not isinstance(c.estimator, evaluate.MajorityBaseline)] for task in ("area", "category")}


def probe_figures(classifier: SentenceClassifier, reports: list[ProbeReport], training_units: list[LabelledUnit],
                  taxonomy: Taxonomy | None = None) -> dict:
    """Area and category macro-F1 of the model and of each rule over the probe's body units,
    pooled and per report, with the model's per-area F1. Area is predicted over the whole report
    (structure included); category from the sentence, as cross-validation scores it."""
    taxonomy = taxonomy or load_taxonomy()
    scored = {"area": [], "category": []}  # per task: (report, text, truth, the model's label)
    for report in reports:
        predicted = {u["start"]: u for u in classify_report(classifier, report.text)}
        body = [u for u in report.units if u.kind == "body"]
        scored["area"] += [(report.name, u.text, u.area, predicted[u.start]["area"]) for u in body]
        rated = [u for u in body if u.category is not None]
        if rated:
            decided = classifier.category_pipeline.predict([u.text for u in rated]).tolist()
            scored["category"] += [(report.name, u.text, u.category, d) for u, d in zip(rated, decided)]
    figures = {"reports": [r.name for r in reports]}
    for task, rules in _rules(taxonomy).items():
        columns = zip(*scored[task]) if scored[task] else ((), (), (), ())
        names, texts, truth, model = (list(column) for column in columns)
        fit_on = [u for u in training_units if (u.area if task == "area" else u.category) is not None]
        y_fit = [u.area if task == "area" else u.category for u in fit_on]
        predictions = {"model": model}
        for rule in rules:
            predictions[rule.name] = list(rule.estimator.fit([u.text for u in fit_on], y_fit).predict(texts))
        per_report = {}
        for name in figures["reports"]:
            picked = [i for i, n in enumerate(names) if n == name]
            per_report[name] = {row: evaluate._macro_f1([truth[i] for i in picked], [pred[i] for i in picked])
                                if picked else None for row, pred in predictions.items()}
        figures[task] = {"n": len(truth),
                         "macro_f1": {row: evaluate._macro_f1(truth, pred) for row, pred in predictions.items()},
                         "accuracy": {row: float(np.mean(np.array(truth) == np.array(pred)))
                                      for row, pred in predictions.items()},
                         "per_report": per_report,
                         "per_class": evaluate.per_class_figures(truth, model)}
    return figures


def probe_metrics(figures: dict) -> dict:
    """The model's probe figures and the better rule's, as flat metrics for MLflow."""
    metrics = {}
    for task in ("area", "category"):
        f1 = figures[task]["macro_f1"]
        metrics[f"probe_{task}_macro_f1"] = f1["model"]
        metrics[f"probe_{task}_better_rule_macro_f1"] = max(v for k, v in f1.items() if k != "model")
    return metrics


def probe_markdown(figures: dict) -> str:
    """The probe's section of docs/model-comparison.md."""
    lines = ["## Probe: invented reports of kinds the seeds lack (`python -m training.probe`)", "",
             "Reports the team wrote (data/probe/, listed in its README) for kinds the seeds lack: "
             "governments from the province to the township and city, county and provincial departments, "
             "labelled by the guide. They never train and no setting is chosen on them, though two authored "
             "corpora took their topics from the probe's errors (notes, round 9); being the team's own writing, "
             "like the authored training sentences, they flatter the model. A check on those kinds of report, "
             "not the headline. The shipped model (fitted on all labels) and the rules on the same body "
             "units; area with the report's structure, as the service reads an upload.", ""]
    short = [r.split("_", 1)[0] for r in figures["reports"]]
    for task in ("area", "category"):
        part = figures[task]
        lines += [f"**{task}** ({part['n']} units)", "",
                  f"| | macro-F1 | accuracy | per report ({' / '.join(short)}) |", "|---|---|---|---|"]
        for row, f1 in part["macro_f1"].items():
            each = " / ".join("–" if part["per_report"][r][row] is None else f"{part['per_report'][r][row]:.2f}"
                              for r in figures["reports"])
            label = "**model**" if row == "model" else row
            lines.append(f"| {label} | {f1:.3f} | {part['accuracy'][row]:.3f} | {each} |")
        lines.append("")
    lines += ["Model per area on the probe:", "", "| area | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for area, m in figures["area"]["per_class"].items():
        lines.append(f"| {area} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_FILE)
    parser.add_argument("--probe-dir", type=Path, default=PROBE_DIR)
    parser.add_argument("--labels-dir", type=Path, default=LABELS_DIR,
                        help="the training labels (the rules' fallbacks are fitted on them)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    taxonomy = load_taxonomy()
    try:
        reports = load_probe(args.probe_dir, taxonomy)
        if not reports:
            raise LabelError(f"{args.probe_dir}: no probe reports (<name>.jsonl beside <name>.txt)")
        figures = probe_figures(load_classifier(args.model), reports, load_labels(args.labels_dir, taxonomy), taxonomy)
    except (LabelError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(figures, ensure_ascii=False, indent=2) if args.json else probe_markdown(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
