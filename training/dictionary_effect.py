"""Does the domain user dictionary help? Leave-one-document-out macro-F1 with and without it.

    python -m training.dictionary_effect

Only feature sets that use jieba's word tokens are affected; character n-grams are not.
"""
from __future__ import annotations

import sys

from fazhi import tokenizer
from fazhi.labels import load_labels
from fazhi.model import build_pipeline
from training import evaluate

MEASURED = (("area", "word"), ("area", "word+char+kw"), ("category", "word"), ("category", "word+cues"))


def measure() -> list[tuple[str, str, float, float]]:
    units = load_labels()
    tasks = {"area": evaluate.area_task(units), "category": evaluate.category_task(units)}
    rows = []
    for task, feature_set in MEASURED:
        scores = {}
        for with_dict in (True, False):
            tokenizer.initialize(user_dict=with_dict)
            scores[with_dict] = evaluate.leave_one_document_out(build_pipeline(feature_set), tasks[task]).macro_f1
        rows.append((task, feature_set, scores[True], scores[False]))
    tokenizer.initialize(user_dict=True)
    return rows


def main(argv=None) -> int:
    print("| task | features | macro-F1 with dictionary | without | difference |")
    print("|---|---|---|---|---|")
    for task, features, with_dict, without in measure():
        print(f"| {task} | {features} | {with_dict:.3f} | {without:.3f} | {with_dict - without:+.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
