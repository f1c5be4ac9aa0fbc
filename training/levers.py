"""Each lever of the model measured with and without, by the nested evaluation (issue: levers).

    python -m training.levers            # about 25 minutes: one nested evaluation per row

Rows: the default training run; without the authored sentences; without the three corpora
of the guide's hard cases for category (authored-d, -g, -h) together and each alone, and with
authored-d training area as well as category; without authored-f (the digital area's
boundaries); without authored-j (departments' own reports) and with it training area too;
without authored-k (next-year plans and shortcomings) and with it training area too; the
taxonomy's original keyword lists only (no 2021-outline keywords); class-balanced weights; no
report structure (the sentence alone); category without the rarity of words. Prints a Markdown
table of the nested macro-F1 over annual reports and over all documents, for area and category
(docs/model-comparison.md, "Levers").
"""
from __future__ import annotations

import sys

from training import evaluate
from training.train import HEADLINE_KIND, evaluate_all, parse_args

LEVERS = (
    ("default (all levers)", []),
    ("without authored sentences", ["--without-authored"]),
    ("without authored-d, -g and -h (the guide's hard cases for category)",
     ["--without-document", "authored-d", "--without-document", "authored-g", "--without-document", "authored-h"]),
    ("without authored-d (the guide's hard cases; it trains category only)", ["--without-document", "authored-d"]),
    ("without authored-g (quoted names)", ["--without-document", "authored-g"]),
    ("without authored-h (anchors that are not numbers)", ["--without-document", "authored-h"]),
    ("authored-d trains area too", ["--trains-both", "authored-d"]),
    ("without authored-f (the digital area's boundaries)", ["--without-document", "authored-f"]),
    ("without authored-j (departments' own reports; it trains category only)", ["--without-document", "authored-j"]),
    ("authored-j trains area too", ["--trains-both", "authored-j"]),
    ("without authored-k (plans and shortcomings; it trains category only)", ["--without-document", "authored-k"]),
    ("authored-k trains area too", ["--trains-both", "authored-k"]),
    ("taxonomy keywords without the 2021 outline's", ["--keyword-sets", "keywords"]),
    ("class-balanced weights (instead of the priors as in the data)", ["--class-weight", "balanced"]),
)


# Rows that change the candidates rather than the data: (name, what the nested evaluation
# chooses among for area's structure, category's feature sets), each restored after its row.
CANDIDATE_LEVERS = (
    ("no report structure (sentence alone)", {"STRUCTURE_GRID": evaluate.NO_STRUCTURE}),
    ("no rarity of words (category without the `rare` feature sets)",
     {"CATEGORY_FEATURE_SETS": tuple(fs for fs in evaluate.CATEGORY_FEATURE_SETS if "rare" not in fs.split("+"))}),
)


def _evaluate_with(patch: dict) -> dict:
    """The default run with some of training.evaluate's candidate lists replaced."""
    saved = {name: getattr(evaluate, name) for name in patch}
    try:
        for name, value in patch.items():
            setattr(evaluate, name, value)
        return evaluate_all(parse_args([]))
    finally:
        for name, value in saved.items():
            setattr(evaluate, name, value)


def main(argv=None) -> int:
    print(f"| lever | area, {HEADLINE_KIND} | area, all | category, {HEADLINE_KIND} | category, all |")
    print("|---|---|---|---|---|")
    rows = [(name, lambda extra=extra: evaluate_all(parse_args(extra))) for name, extra in LEVERS]
    rows += [(name, lambda patch=patch: _evaluate_with(patch)) for name, patch in CANDIDATE_LEVERS]
    for name, run in rows:
        e = run()
        a, c = e["area_nested"].result, e["category_nested"].result
        print(f"| {name} | {a.by_kind[HEADLINE_KIND]['macro_f1']:.3f} | {a.macro_f1:.3f} "
              f"| {c.by_kind[HEADLINE_KIND]['macro_f1']:.3f} | {c.macro_f1:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
