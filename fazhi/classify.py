"""Classify sentences, or a whole report unit by unit (with each unit's section as context)."""
from __future__ import annotations

from typing import Sequence

from fazhi.model import SentenceClassifier


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


def classify_units(model: SentenceClassifier, texts: Sequence[str], kinds: Sequence[str],
                   contexts: Sequence[str]) -> list[dict]:
    """Classify the units of a report given their kinds and section contexts.

    Following the labelling guide, headings get an area but no category (they never count as
    measures), and furniture (navigation, signatures, table cells) is off-topic by definition.
    """
    prose = [i for i, kind in enumerate(kinds) if kind != "furniture"]
    predicted = dict(zip(prose, model.predict([texts[i] for i in prose], [contexts[i] for i in prose])))
    results = []
    for i, kind in enumerate(kinds):
        if kind == "furniture":
            results.append(_off_topic(model, texts[i]))
        elif kind == "heading":
            results.append({**predicted[i], "category": None, "concrete_prob": None})
        else:
            results.append(predicted[i])
    return results


def classify_report(model: SentenceClassifier, text: str) -> list[dict]:
    """Split a report and classify every unit, in document order, with kind and offsets.

    Raises LimitError (fazhi/limits.py) for a text or a split beyond the bounds on a report."""
    # Imported here: classifying sentences needs neither (the splitter's expressions cost ~12 ms
    # of every start).
    from fazhi.limits import check_text, check_units
    from fazhi.splitter import section_contexts, split_units

    check_text(text)
    units = split_units(text)
    check_units(units)
    results = classify_units(model, [u.text for u in units], [u.kind for u in units], section_contexts(units))
    return [{**result, "kind": unit.kind, "start": unit.start, "end": unit.end}
            for unit, result in zip(units, results)]
