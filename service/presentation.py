"""What the result page shows, derived from a stored result: labels, colours, sentence rows."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from fazhi.review import reviewed_result, uncertainty
from fazhi.scoring import VERDICT_LABELS, VERDICT_NOT_A_REPORT
from fazhi.taxonomy import Taxonomy
from service.chart import AreaChart, area_chart

CATEGORY_MARKS = {"concrete": "具体", "slogan": "口号"}
KIND_MARKS = {"heading": "标题", "furniture": "页面附属"}


@dataclass(frozen=True)
class SentenceRow:
    number: int
    text: str
    area_id: str
    area_name: str
    colour: int     # index into the stylesheet's area palette (taxonomy order)
    kind: str
    category: str | None
    mark: str | None


@dataclass(frozen=True)
class AreaOption:
    area_id: str
    name: str
    count: int


@dataclass(frozen=True)
class ReportView:
    verdict_label: str
    chart: AreaChart
    missing: list[tuple[str, str]]         # (area id, name)
    slogan_heavy: list[tuple[str, str]]
    areas: list[tuple[str, dict]]          # (area id, the result's area entry), taxonomy order
    sentences: list[SentenceRow]          # the rows of this page only
    filter_options: list[AreaOption]      # counts over the whole report
    total_sentences: int = 0
    page: int = 1
    pages: int = 1


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def report_view(result: dict, taxonomy: Taxonomy, page: int = 1, page_size: int | None = None) -> ReportView:
    """What the result page shows; its list of units is paged (`page_size` rows a page, all
    when None), so that a long report costs a bounded page, not one of its whole length."""
    names = taxonomy.names()
    colours = {area_id: i for i, area_id in enumerate(taxonomy.area_ids)}

    def name(area_id: str) -> str:
        return names.get(area_id, area_id)

    # A text that is not a report has no task areas to speak of: its sentences are listed
    # without the area the model would force on them (a novel is not 政府机构职能体系).
    off_topic = result["verdict"] == VERDICT_NOT_A_REPORT
    rows = []
    for number, unit in enumerate(result["sentences"], 1):
        category = unit.get("category")
        rows.append(SentenceRow(
            number=number, text=unit["text"], area_id=unit["area"],
            area_name="未归类" if off_topic else name(unit["area"]),
            colour=colours.get(unit["area"], len(colours)), kind=unit.get("kind", "body"),
            category=category, mark=CATEGORY_MARKS.get(category) or KIND_MARKS.get(unit.get("kind"))))
    counts = Counter(row.area_id for row in rows)
    options = [AreaOption(a, "未归类" if off_topic else name(a), counts[a])
               for a in sorted(counts, key=lambda a: colours.get(a, len(colours)))]
    size = page_size or max(1, len(rows))
    pages = max(1, -(-len(rows) // size))
    page = min(max(1, page), pages)
    return ReportView(
        verdict_label=VERDICT_LABELS.get(result["verdict"], result["verdict"]),
        chart=area_chart(result),
        missing=[(a, name(a)) for a in result.get("missing_areas") or ()],
        slogan_heavy=[(a, name(a)) for a in result.get("slogan_heavy_areas") or ()],
        areas=list(result["areas"].items()),
        sentences=rows[(page - 1) * size:page * size],
        filter_options=options,
        total_sentences=len(rows),
        page=page,
        pages=pages,
    )


# --- review --------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewRow:
    index: int                 # the unit's position in the report (0-based)
    text: str
    kind: str
    area_id: str               # the model's
    area_name: str
    area_prob: float
    category: str | None
    concrete_prob: float | None
    certainty: float           # 0: the model could not decide; 1: sure (fazhi.review.uncertainty)
    colour: int
    decided_area: str | None   # the decision in force, if any
    decided_category: str | None
    reviewer: str | None

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def area(self) -> str:
        """The labels in force: the reviewer's where decided, else the model's."""
        return self.decided_area or self.area_id

    @property
    def category_in_force(self) -> str | None:
        return self.decided_category if self.decided_area else self.category


def review_rows(result: dict, decisions: dict[int, dict], taxonomy: Taxonomy, indices: list[int]) -> list[ReviewRow]:
    names = taxonomy.names()
    colours = {area_id: i for i, area_id in enumerate(taxonomy.area_ids)}
    rows = []
    for index in indices:
        unit = result["sentences"][index]
        decision = decisions.get(index) or {}
        rows.append(ReviewRow(
            index=index, text=unit["text"], kind=unit.get("kind", "body"), area_id=unit["area"],
            area_name=names.get(unit["area"], unit["area"]),
            area_prob=float(unit.get("area_scores", {}).get(unit["area"], 0.0)),
            category=unit.get("category"), concrete_prob=unit.get("concrete_prob"),
            certainty=uncertainty(unit), colour=colours.get(unit["area"], len(colours)),
            decided_area=decision.get("new_area"), decided_category=decision.get("new_category"),
            reviewer=decision.get("reviewer")))
    return rows


def _headline(result: dict) -> dict:
    return {k: result.get(k) for k in ("score", "coverage", "specificity", "verdict", "missing_areas")}


def figures(result: dict, decisions: dict[int, dict], taxonomy: Taxonomy) -> dict:
    """The model's figures and, where a reviewer has decided any unit, the reviewed ones."""
    reviewed = _headline(reviewed_result(result, decisions, taxonomy)) if decisions else None
    return {"model": _headline(result), "reviewed": reviewed, "decided": len(decisions)}
