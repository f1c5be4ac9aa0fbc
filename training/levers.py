"""Each lever of the model measured with and without, by the nested evaluation (issue: levers).

    python -m training.levers            # about 20 minutes: one nested evaluation per row

Rows: the default training run; without the authored sentences; without the three corpora
of the guide's hard cases for category (authored-d, -g, -h) together and each alone, and with
authored-d training area as well as category; without authored-f (the digital area's
boundaries); the taxonomy's original keyword lists only (no 2021-outline keywords);
class-balanced weights; no report structure (the sentence alone). Prints a Markdown table of
the nested macro-F1 over annual reports and over all documents, for area and category
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
    ("authored-d trains area too", ["--every-document-trains-both"]),
    ("without authored-f (the digital area's boundaries)", ["--without-document", "authored-f"]),
    ("taxonomy keywords without the 2021 outline's", ["--keyword-sets", "keywords"]),
    ("class-balanced weights (instead of the priors as in the data)", ["--class-weight", "balanced"]),
)


def main(argv=None) -> int:
    print(f"| lever | area, {HEADLINE_KIND} | area, all | category, {HEADLINE_KIND} | category, all |")
    print("|---|---|---|---|---|")
    rows = list(LEVERS) + [("no report structure (sentence alone)", None)]
    for name, extra in rows:
        if extra is None:  # the default run with the structure grid reduced to the sentence alone
            saved, evaluate.STRUCTURE_GRID = evaluate.STRUCTURE_GRID, evaluate.NO_STRUCTURE
            try:
                e = evaluate_all(parse_args([]))
            finally:
                evaluate.STRUCTURE_GRID = saved
        else:
            e = evaluate_all(parse_args(extra))
        a, c = e["area_nested"].result, e["category_nested"].result
        print(f"| {name} | {a.by_kind[HEADLINE_KIND]['macro_f1']:.3f} | {a.macro_f1:.3f} "
              f"| {c.by_kind[HEADLINE_KIND]['macro_f1']:.3f} | {c.macro_f1:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
