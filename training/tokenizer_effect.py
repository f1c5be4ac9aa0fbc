"""What the tokenizer choices are worth: leave-one-document-out macro-F1 of the kept feature sets
with and without the domain dictionary, and with each tokenizer backend.

    python -m training.tokenizer_effect

Only feature sets that use word tokens are affected; character n-grams are not.
"""
from __future__ import annotations

import sys

from fazhi import tokenizer
from fazhi.labels import load_labels
from fazhi.model import build_pipeline
from training import evaluate

MEASURED = (("area", "word"), ("area", "word+char+kw"), ("category", "word"), ("category", "word+cues"))
VARIANTS = (("jieba", True), ("jieba", False), ("rjieba", True))


def measure() -> list[tuple[str, str, dict]]:
    units = load_labels()
    tasks = dict(zip(("area", "category"), evaluate.build_tasks(units)))
    rows = []
    for task, feature_set in MEASURED:
        scores = {}
        for backend, user_dict in VARIANTS:
            tokenizer.initialize(backend=backend, user_dict=user_dict)
            result = evaluate.leave_one_document_out(build_pipeline(feature_set), tasks[task])
            scores[(backend, user_dict)] = result.macro_f1
        rows.append((task, feature_set, scores))
    tokenizer.initialize()
    return rows


def main(argv=None) -> int:
    print("| task | features | jieba + dictionary | jieba, no dictionary | rjieba + dictionary |")
    print("|---|---|---|---|---|")
    for task, features, scores in measure():
        print(f"| {task} | {features} | " + " | ".join(f"{scores[v]:.3f}" for v in VARIANTS) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
