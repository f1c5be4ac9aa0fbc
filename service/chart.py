"""Geometry of the per-area bar chart, drawn as inline SVG by the result page's template.

Computed here, rendered by Jinja (so area names stay autoescaped); no JavaScript, no
external library, so the chart works offline and under a strict Content-Security-Policy.
Each bar is an area's sentences: its concrete part (probability-weighted, as scored) and
the rest; the label gives the counts and the area's coverage.
"""
from __future__ import annotations

from dataclasses import dataclass

ROW_HEIGHT = 30
BAR_HEIGHT = 18
LABEL_WIDTH = 250    # room for the longest area name (16 characters)
BAR_WIDTH = 360
VALUE_WIDTH = 250
PADDING = 8


@dataclass(frozen=True)
class ChartRow:
    area_id: str
    name: str
    bar_y: float
    text_y: float
    concrete_width: float
    other_width: float
    value_label: str
    task_area: bool
    missing: bool


@dataclass(frozen=True)
class AreaChart:
    width: int
    height: int
    label_x: int
    bar_x: int
    value_x: int
    rows: list[ChartRow]


def area_chart(result: dict) -> AreaChart:
    areas = result["areas"]
    most = max((a["sentences"] for a in areas.values()), default=0) or 1
    missing = set(result.get("missing_areas") or ())
    rows = []
    for i, (area_id, area) in enumerate(areas.items()):
        top = PADDING + i * ROW_HEIGHT
        concrete = min(area["concrete"], area["sentences"])
        rows.append(ChartRow(
            area_id=area_id,
            name=area["name"],
            bar_y=top + (ROW_HEIGHT - BAR_HEIGHT) / 2,
            text_y=top + ROW_HEIGHT / 2 + 5,
            concrete_width=round(BAR_WIDTH * concrete / most, 1),
            other_width=round(BAR_WIDTH * (area["sentences"] - concrete) / most, 1),
            value_label=f"{area['sentences']} 句 · 具体 {area['concrete']:.1f} · 覆盖 {area['coverage']:.0%}",
            task_area=area["task_area"],
            missing=area_id in missing,
        ))
    return AreaChart(width=LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH, height=2 * PADDING + len(rows) * ROW_HEIGHT,
                     label_x=LABEL_WIDTH - 10, bar_x=LABEL_WIDTH, value_x=LABEL_WIDTH + BAR_WIDTH + 10, rows=rows)
