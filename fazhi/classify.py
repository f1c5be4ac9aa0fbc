"""Classify sentences, or a whole report unit by unit (with each unit's section as context)."""
from __future__ import annotations

from typing import Sequence

from fazhi.model import SentenceClassifier
from fazhi.splitter import section_contexts, split_units


def _off_topic(model: SentenceClassifier, text: str) -> dict:
    """A unit that is not report prose by construction (furniture, a blank line)."""
    return {"text": text, "area": model.off_topic_area,
            "area_scores": {a: float(a == model.off_topic_area) for a in model.area_ids},
            "category": None, "concrete_prob": None}


def classify_sentences(model: SentenceClassifier, sentences: Sequence[str]) -> list[dict]:
    """Each sentence as it is: no splitting, no context; blank lines are off-topic."""
    texts = list(sentences)
    predicted = iter(model.predict([t for t in texts if t.strip()]))
    return [next(predicted) if t.strip() else _off_topic(model, t) for t in texts]


def classify_report(model: SentenceClassifier, text: str) -> list[dict]:
    """Split a report and classify every unit, in document order, with kind and offsets.

    Following the labelling guide, headings get an area but no category (they never count as
    measures), and furniture (navigation, signatures, table cells) is off-topic by definition.
    """
    units = split_units(text)
    contexts = section_contexts(units)
    prose = [i for i, u in enumerate(units) if u.kind != "furniture"]
    predicted = dict(zip(prose, model.predict([units[i].text for i in prose], [contexts[i] for i in prose])))
    results = []
    for i, unit in enumerate(units):
        if unit.kind == "furniture":
            result = _off_topic(model, unit.text)
        elif unit.kind == "heading":
            result = {**predicted[i], "category": None, "concrete_prob": None}
        else:
            result = predicted[i]
        results.append({**result, "kind": unit.kind, "start": unit.start, "end": unit.end})
    return results
