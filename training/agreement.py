"""Inter-annotator agreement: Cohen's kappa of the second, independent labelling of a sample.

    python -m training.agreement

The sample (data/agreement/sample.units.jsonl) was drawn at random from the body sentences
of the seed documents and labelled again by an annotator who had only the guide
(data/agreement/sample.second.jsonl); the first labels are those in data/labels/.

Training also scores the second labelling like a model (`ceiling_figures`): its macro-F1
against the labels, beside the nested model's and the better rule's on the same sentences,
is how closely two careful readers of the guide agree, the most a figure can mean.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

from fazhi.labels import TASKS
from fazhi.paths import DATA_DIR, LABELS_DIR
from training.evaluate import _macro_f1, better_rule, bootstrap_interval, pooled_order

AGREEMENT_DIR = DATA_DIR / "agreement"
SECOND_FILE = AGREEMENT_DIR / "sample.second.jsonl"
NO_CATEGORY = "-"


def _read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _first_labels(labels_dir: Path) -> dict[str, dict]:
    """Each labelled unit with an id (the seeds' units), by id."""
    return {row["id"]: row for path in sorted(labels_dir.glob("*.jsonl")) for row in _read(path) if "id" in row}


def agreement(second_file: Path = SECOND_FILE, labels_dir: Path = LABELS_DIR) -> dict:
    first = _first_labels(labels_dir)
    second = _read(second_file)
    missing = [row["id"] for row in second if row["id"] not in first]
    if missing:
        raise SystemExit(f"error: {len(missing)} sampled units have no first label, e.g. {missing[0]}")
    pairs = [(first[row["id"]], row) for row in second]
    result = {"units": len(pairs)}
    for label in ("area", "category"):
        a = [p[label] or NO_CATEGORY for p, _ in pairs]
        b = [s[label] or NO_CATEGORY for _, s in pairs]
        result[label] = {"kappa": round(float(cohen_kappa_score(a, b)), 3),
                         "agreement": round(sum(x == y for x, y in zip(a, b)) / len(a), 3),
                         "disagreements": [{"id": p["id"], "text": p["text"], "first": x, "second": y}
                                           for (p, _), x, y in zip(pairs, a, b) if x != y]}
    return result


def ceiling_figures(e: dict, headline_kind: str, second_file: Path = SECOND_FILE,
                    labels_dir: Path = LABELS_DIR) -> dict:
    """For each task, on the sampled sentences that are its evaluation units: macro-F1 (with
    its bootstrap interval) of the second labelling, of the nested model's held-out predictions
    and of the better rule's, all against the labels, over `headline_kind` documents and over
    all; a task none of whose sampled sentences are evaluation units is left out. `e` is
    training's evaluation (training.train.evaluate_all)."""
    first = _first_labels(labels_dir)
    second = _read(second_file)
    figures = {}
    for task in TASKS:
        data, nested = e[f"{task}_data"], e[f"{task}_nested"].result
        rule = better_rule(e[f"{task}_results"], headline_kind)
        order = pooled_order(data)
        position = {(data.docs[i], data.starts[i]): k for k, i in enumerate(order)}
        # A second labelling without this task's label where the first has one is a disagreement.
        rows = [(position[key], row.get(task) or NO_CATEGORY) for row in second
                if (key := (row["doc"], first.get(row["id"], {}).get("start"))) in position]
        if not rows:
            continue
        by_scope = {}
        for scope in (headline_kind, "all"):
            picked = [(k, label) for k, label in rows
                      if scope == "all" or data.doc_kinds.get(data.docs[order[k]]) == scope]
            if not picked:
                continue
            truth = [nested.y_true[k] for k, _ in picked]
            readers = {"second labeller": [label for _, label in picked],
                       "nested choice": [nested.y_pred[k] for k, _ in picked],
                       rule.candidate: [rule.y_pred[k] for k, _ in picked]}
            by_scope[scope] = {"n": len(picked), **{name: {"macro_f1": _macro_f1(truth, predicted),
                                                           "interval": bootstrap_interval(truth, predicted)}
                                                    for name, predicted in readers.items()}}
        figures[task] = by_scope
    return figures


def ceiling_metrics(figures: dict, headline_kind: str) -> dict:
    """The second labeller's macro-F1, over the headline kind and over all sampled units."""
    return {f"{task}_macro_f1_second_labeller{'' if scope == headline_kind else '_all'}":
            by_scope[scope]["second labeller"]["macro_f1"]
            for task, by_scope in figures.items() for scope in by_scope}


def ceiling_markdown(figures: dict, headline_kind: str) -> str:
    lines = ["## The labels' own ceiling: a second labeller on the same sentences (training/agreement.py)", "",
             "The agreement sample (data/agreement/: sentences drawn at random from the seeds' bodies) was",
             "labelled again by an annotator who had only the guide. Scored like a model against the labels,",
             "the second labelling shows how closely two careful readers of the guide agree: a model above",
             "it would be fitting the first labeller's habits, not the guide. Beside it, the nested model's",
             "held-out predictions and the better rule's, on the same sentences.", "",
             "| task | documents | sentences | reader | macro-F1 | 95 % interval |", "|---|---|---|---|---|---|"]
    for task, by_scope in figures.items():
        for scope, row in by_scope.items():
            for reader, m in row.items():
                if reader != "n":
                    lines.append(f"| {task} | {scope} | {row['n']} | {reader} | {m['macro_f1']:.3f} "
                                 f"| {m['interval'][0]:.3f}–{m['interval'][1]:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    result = agreement()
    print(f"{result['units']} sentences labelled twice")
    for label in ("area", "category"):
        r = result[label]
        print(f"{label:9s} Cohen's kappa {r['kappa']:.3f}  raw agreement {r['agreement']:.1%}  "
              f"({len(r['disagreements'])} disagreements)")
        for d in r["disagreements"]:
            print(f"    {d['id']}: {d['first']} vs {d['second']}  {d['text'][:40]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
