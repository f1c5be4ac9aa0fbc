"""Actor invariance: who did it must not decide what it is.

Reports of other levels name other actors: a county writes 我县 and 县司法局, a municipality
市公安局, a province 省司法厅. Replacing the actor of a labelled concrete sentence must not flip
its predicted category or area. `actor_flip_rates` measures how often it does, over the
labelled concrete sentences that name an actor (docs/model-comparison.md reports it; the
test suite holds the committed model to it).
"""
from __future__ import annotations

import re

from fazhi.labels import LabelledUnit
from fazhi.model import SentenceClassifier

# The reporting district's own words, and the same actor at other levels.
ACTOR_SWAPS = (
    (re.compile(r"我区"), ("我市", "我省", "我县")),
    (re.compile(r"全区"), ("全市", "全省", "全县")),
    (re.compile(r"区(政府|委|人大常委会|政协)"), (r"市\1", r"省\1", r"县\1")),
    (re.compile(r"区(?=[^\W\d_]{1,6}?局)"), ("市", "县", "省")),
)


def actor_variants(text: str) -> list[str]:
    """The sentence with its actor replaced by each other level's (all occurrences at once)."""
    variants = []
    for pattern, replacements in ACTOR_SWAPS:
        if pattern.search(text):
            variants.extend(pattern.sub(r, text) for r in replacements)
    return [v for v in dict.fromkeys(variants) if v != text]


def actor_flip_rates(model: SentenceClassifier, units: list[LabelledUnit]) -> dict:
    """Over manual concrete sentences that name an actor: how often a variant's predicted
    category or area differs from the original's."""
    originals = [u.text for u in units if u.is_evaluation_truth and u.category == "concrete" and actor_variants(u.text)]
    pairs = [(o, v) for o in originals for v in actor_variants(o)]
    if not pairs:
        return {"sentences": 0, "variants": 0, "category_flip_rate": 0.0, "area_flip_rate": 0.0, "examples": []}
    texts = list(dict.fromkeys([t for pair in pairs for t in pair]))
    predicted = dict(zip(texts, model.predict(texts)))
    category_flips = [(o, v) for o, v in pairs if predicted[o]["category"] != predicted[v]["category"]]
    area_flips = [(o, v) for o, v in pairs if predicted[o]["area"] != predicted[v]["area"]]
    return {"sentences": len(originals), "variants": len(pairs),
            "category_flip_rate": len(category_flips) / len(pairs), "area_flip_rate": len(area_flips) / len(pairs),
            "examples": [v for _, v in (category_flips + area_flips)[:5]]}
