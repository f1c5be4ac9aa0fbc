"""The report score: coverage of the task areas and specificity, with the evidence.

Every threshold and weight lives in `ScoringConfig`, explained in docs/scoring.md.

- Per area: body sentences, concrete sentences (those the model classifies concrete, each
  weighted by its concrete probability), concrete share, and the best evidence sentences.
- coverage: mean over the task areas of min(1, concrete_a / COVERED_AT), 0–1.
- specificity: concrete sentences / substantive body sentences (area ≠ none), 0–1.
- score: 100 · (W_COVERAGE · coverage + W_SPECIFICITY · specificity).
A text that is too short, or not about law-based government, gets a verdict and no number.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from fazhi.classify import classify_report
from fazhi.model import CONCRETE, SentenceClassifier
from fazhi.taxonomy import Taxonomy, load_taxonomy
from fazhi.tokenizer import normalize


@dataclass(frozen=True)
class ScoringConfig:
    # An area counts as covered at this much concrete evidence (probability-weighted), that
    # is one sentence the model is at least 75 % sure of; weaker evidence earns partial
    # credit. More than one sentence would reward length over breadth.
    covered_at: float = 0.75
    # Weights of the score; coverage leads because breadth of real work is the question,
    # specificity keeps a report from scoring by padding every area with one fact.
    w_coverage: float = 0.6
    w_specificity: float = 0.4
    # Fewer substantive body sentences than this: too short to judge.
    min_body_sentences: int = 10
    # Share of body sentences that use law-based-government vocabulary below which the text
    # is not a 法治政府建设 report (real reports: > 0.6; news and economic narrative: < 0.2).
    min_relevant_share: float = 0.3
    # An area is slogan-heavy with at least this many sentences and a concrete share below…
    slogan_heavy_min_sentences: int = 3
    slogan_heavy_max_share: float = 0.25
    # Evidence sentences listed per area.
    evidence_per_area: int = 3
    # An area prediction below this probability is uncertain; many of them earn a warning.
    uncertain_area_prob: float = 0.5
    uncertain_warning_share: float = 0.4


DEFAULT_CONFIG = ScoringConfig()

VERDICT_SCORED = "scored"
VERDICT_TOO_SHORT = "too_short"
VERDICT_NOT_A_REPORT = "not_a_report"
# What each verdict says to a reader, wherever it is shown (result page, history, batch outputs).
VERDICT_LABELS = {
    VERDICT_SCORED: "法治政府建设报告，已按覆盖面和具体程度评分",
    VERDICT_TOO_SHORT: "篇幅过短，无法评分",
    VERDICT_NOT_A_REPORT: "不是法治政府建设报告，不予评分",
}


# Words every law-based-government report uses, beyond the taxonomy's area keywords.
RELEVANCE_WORDS = ("依法", "法治", "法律", "法规", "执法", "司法", "行政机关", "法制")


def _relevance_vocabulary(taxonomy: Taxonomy) -> list[str]:
    words = {normalize(k) for a in taxonomy.areas if a.id != taxonomy.off_topic_id for k in a.keywords}
    return sorted(words | set(RELEVANCE_WORDS))


def score_sentences(sentences: list[dict], *, taxonomy: Taxonomy | None = None,
                    config: ScoringConfig = DEFAULT_CONFIG, model_version: str = "",
                    title: str | None = None) -> dict:
    """Score a report from its classified units (as `classify_report` returns them)."""
    taxonomy = taxonomy or load_taxonomy()
    off_topic = taxonomy.off_topic_id
    body = [s for s in sentences if s["kind"] == "body"]
    substantive = [s for s in body if s["area"] != off_topic]
    vocabulary = _relevance_vocabulary(taxonomy)

    def weight(sentence: dict) -> float:
        # Only sentences classified concrete count, by their probability: summing every
        # sentence's probability would let fifty slogans at 0.1 make five "facts".
        return sentence["concrete_prob"] if sentence["category"] == CONCRETE else 0.0

    relevant = sum(1 for text in (normalize(s["text"]) for s in body) if any(w in text for w in vocabulary))
    relevant_share = relevant / len(body) if body else 0.0

    areas = {}
    for area in taxonomy.areas:
        if area.id == off_topic:
            continue
        members = [s for s in substantive if s["area"] == area.id]
        concrete = sum(weight(s) for s in members)
        evidence = sorted((s for s in members if weight(s) > 0),
                          key=lambda s: -s["concrete_prob"])[:config.evidence_per_area]
        areas[area.id] = {
            "name": area.name,
            "task_area": area.task_area,
            "sentences": len(members),
            "concrete": round(concrete, 3),
            "concrete_share": round(concrete / len(members), 3) if members else 0.0,
            "coverage": round(min(1.0, concrete / config.covered_at), 3),
            "evidence": [{"text": s["text"], "start": s["start"], "end": s["end"],
                          "concrete_prob": s["concrete_prob"]} for s in evidence],
            "slogans": [{"text": s["text"], "start": s["start"], "end": s["end"]}
                        for s in members if weight(s) == 0][:config.evidence_per_area],
        }

    concrete_total = sum(weight(s) for s in substantive)
    task_ids = taxonomy.task_area_ids
    missing = [a for a in task_ids if areas[a]["concrete"] < config.covered_at]
    slogan_heavy = sorted(
        (a for a in task_ids if areas[a]["sentences"] >= config.slogan_heavy_min_sentences
         and areas[a]["concrete_share"] < config.slogan_heavy_max_share),
        key=lambda a: -(areas[a]["sentences"] - areas[a]["concrete"]))

    warnings = []
    # A long text that is off topic is "not a report" even when the model, rightly, finds few
    # substantive sentences in it; only a short text is "too short".
    if len(body) >= config.min_body_sentences and relevant_share < config.min_relevant_share:
        verdict = VERDICT_NOT_A_REPORT
        warnings.append(f"仅 {relevant_share:.0%} 的句子涉及法治政府建设，这似乎不是法治政府建设报告 "
                        f"(not a law-based government report: {relevant_share:.0%} of sentences on topic)")
    elif len(substantive) < config.min_body_sentences:
        verdict = VERDICT_TOO_SHORT
        warnings.append(f"只有 {len(substantive)} 个实质性句子，少于 {config.min_body_sentences} 个，篇幅过短，无法评分 "
                        f"(too short to judge: {len(substantive)} substantive sentences)")
    else:
        verdict = VERDICT_SCORED
    if verdict == VERDICT_SCORED:
        coverage = sum(areas[a]["coverage"] for a in task_ids) / len(task_ids)
        specificity = concrete_total / len(substantive)
        score = 100 * (config.w_coverage * coverage + config.w_specificity * specificity)
        if missing:
            names = "、".join(areas[a]["name"] for a in missing)
            warnings.append(f"缺少具体举措的领域：{names}")
        uncertain = sum(1 for s in substantive if max(s["area_scores"].values()) < config.uncertain_area_prob)
        if substantive and uncertain / len(substantive) > config.uncertain_warning_share:
            warnings.append(f"{uncertain / len(substantive):.0%} 的句子领域归属不确定，结果仅供参考")
    else:
        coverage = specificity = score = None

    return {
        "title": title or next((s["text"] for s in sentences if s["kind"] == "heading"), ""),
        "verdict": verdict,
        "coverage": None if coverage is None else round(coverage, 4),
        "specificity": None if specificity is None else round(specificity, 4),
        "score": None if score is None else round(score, 1),
        "areas": areas,
        "missing_areas": missing if verdict == VERDICT_SCORED else [],
        "slogan_heavy_areas": slogan_heavy if verdict == VERDICT_SCORED else [],
        "counts": {"units": len(sentences), "body": len(body), "substantive": len(substantive),
                   "concrete": round(concrete_total, 2),
                   "relevant_share": round(relevant_share, 3)},
        "sentences": sentences,
        "model_version": model_version,
        "taxonomy_version": taxonomy.version,
        "warnings": warnings,
        "config": asdict(config),
    }


def score_report(model: SentenceClassifier, text: str, *, title: str | None = None,
                 config: ScoringConfig = DEFAULT_CONFIG) -> dict:
    """Split, classify and score a report's text."""
    return score_sentences(classify_report(model, text), config=config, model_version=model.version,
                           title=title)
