"""What a batch run leaves in its output folder, made from the rows `fazhi.batch.run_batch` returns.

- ``scores.csv``: one row per file, errors included (UTF-8 with a BOM so that Excel reads it);
- ``scores.xlsx``: sheets 排名 (ranking by score), 区县×领域 (coverage of each task area in
  each district's latest scored report) and 错误 (files that could not be scored);
- three PNG charts: the district × area coverage heatmap, the distribution of specificity,
  and the score of districts with reports from several years (left out, with a note, when no
  district has two);
- ``index.html``: one self-contained page (inline CSS, charts as data: URIs, nothing fetched)
  with the first RANKING_PAGE_ROWS of the ranking, the charts, the year-over-year table and
  the errors; ``ranking-2.html``, … hold the rest of the ranking, a page each.

At thousands of districts every output stays usable and bounded: charts show the best and
the worst districts (and the spread of all) instead of one row each, the pages list a bounded
number of rows, and the CSV and the workbook hold everything.

Each output is written to a temporary file beside it and renamed into place when complete
(`replacing`): a run killed while writing, or a full disk, leaves the previous outputs, never
a half-written one; `check_writable` lets the CLI refuse an unwritable folder before scoring.

Charts are matplotlib `Figure`s saved by the Agg renderer (no pyplot, so no GUI backend and
no figures left open) in the CJK font that ships with the package (`fazhi.paths.CJK_FONT_FILE`), so
area and district names never come out as empty boxes.
"""
from __future__ import annotations

import base64
import csv
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator

import matplotlib
import numpy as np
from jinja2 import Environment
from matplotlib import font_manager
from matplotlib.figure import Figure
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from fazhi.batch import STATUS_CACHED, STATUS_ERROR, STATUS_SCORED
from fazhi.paths import CJK_FONT_FILE
from fazhi.scoring import VERDICT_LABELS
from fazhi.taxonomy import Taxonomy, load_taxonomy

CSV_NAME = "scores.csv"
XLSX_NAME = "scores.xlsx"
HTML_NAME = "index.html"
HEATMAP_NAME = "coverage-heatmap.png"
SPECIFICITY_NAME = "specificity-distribution.png"
YEAR_CHANGES_NAME = "year-over-year.png"

SHEET_RANKING = "排名"
SHEET_MATRIX = "区县×领域"
SHEET_ERRORS = "错误"

STATUS_LABELS = {STATUS_SCORED: "本次评分", STATUS_CACHED: "已有结果", STATUS_ERROR: "错误"}
NO_YEAR_CHANGES_NOTE = "没有区县有两个及以上年份的报告，不绘制年度变化图 / no district has reports from two years"
SPECIFICITY_BINS = np.linspace(0.0, 1.0, 21)
# Outputs stay readable (and their size and memory bounded) at thousands of districts:
# a chart shows every district up to CHART_ALL_ROWS, beyond that the best and the worst
# CHART_EXTREMES; the summary page lists RANKING_PAGE_ROWS reports a page (ranking-2.html, …)
# and at most HTML_LIST_LIMIT year-over-year changes and errors (the CSV and workbook hold all).
CHART_ALL_ROWS = 40
CHART_EXTREMES = 20
YEAR_LINES_ALL = 12
YEAR_LINES_EXTREMES = 6
RANKING_PAGE_ROWS = 500
HTML_LIST_LIMIT = 200
WARNINGS_SHOWN = 3
# Spreadsheets run a cell starting with one of these as a formula; titles come from the files.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
DPI = 120


@dataclass
class MatrixRow:
    """A district's latest scored report and its coverage of each task area."""

    label: str             # the district, or the file's path when the district is unknown
    year: int | None
    path: str
    score: float
    coverage: list[float]  # in the order of the taxonomy's task areas


@dataclass
class YearSeries:
    district: str
    points: list[tuple[int, float]]  # (year, score), years ascending

    @property
    def change(self) -> float:
        """Score of the latest year minus the year before it."""
        return round(self.points[-1][1] - self.points[-2][1], 1)


@dataclass
class BatchOutputs:
    csv: Path
    xlsx: Path
    html: Path                      # the summary page
    charts: dict[str, Path | None]  # heatmap, specificity, year_changes: None when not drawn
    notes: list[str] = field(default_factory=list)
    ranking_pages: list[Path] = field(default_factory=list)  # ranking-2.html, … beyond the first

    def paths(self) -> list[Path]:
        return [self.csv, self.xlsx, self.html, *self.ranking_pages, *(p for p in self.charts.values() if p)]


# --- what the outputs show ----------------------------------------------------------------

def _has_score(row: dict) -> bool:
    return row["status"] != STATUS_ERROR and row["score"] is not None


def ranking(rows: list[dict]) -> list[dict]:
    """Readable reports, best score first, each with "rank" (equal scores share a rank); the
    reports that got no score (too short, not a report) follow, without a rank."""
    readable = [r for r in rows if r["status"] != STATUS_ERROR]
    ranked = sorted((r for r in readable if r["score"] is not None),
                    key=lambda r: (-r["score"], r["district"] or "", r["year"] or 0, r["path"]))
    unscored = [r for r in readable if r["score"] is None]
    out = []
    for i, row in enumerate(ranked):
        shares_rank = i > 0 and row["score"] == ranked[i - 1]["score"]
        out.append({**row, "rank": out[-1]["rank"] if shares_rank else i + 1})
    return out + [{**row, "rank": None} for row in unscored]


def _one_per_district_year(rows: list[dict]) -> dict[tuple[str, int | None], dict]:
    """The first scored report (by path) of each (district or path, year)."""
    chosen: dict[tuple[str, int | None], dict] = {}
    for row in sorted((r for r in rows if _has_score(r)), key=lambda r: r["path"]):
        chosen.setdefault((row["district"] or row["path"], row["year"]), row)
    return chosen


def coverage_matrix(rows: list[dict], taxonomy: Taxonomy) -> list[MatrixRow]:
    """Each district's latest scored report (unknown years count as oldest), best score first."""
    latest: dict[str, dict] = {}
    for (label, year), row in _one_per_district_year(rows).items():
        current = latest.get(label)
        if current is None or (year or 0) > (current["year"] or 0):
            latest[label] = row
    matrix = [MatrixRow(label, row["year"], row["path"], row["score"],
                        [row["area_coverage"].get(a, 0.0) for a in taxonomy.task_area_ids])
              for label, row in latest.items()]
    return sorted(matrix, key=lambda m: (-m.score, m.label))


def year_series(rows: list[dict]) -> list[YearSeries]:
    """Score by year for each district with scored reports from at least two years."""
    by_district: dict[str, list[tuple[int, float]]] = {}
    for (_, year), row in _one_per_district_year(rows).items():
        if row["district"] and year is not None:
            by_district.setdefault(row["district"], []).append((year, row["score"]))
    return [YearSeries(district, sorted(points)) for district, points in sorted(by_district.items())
            if len(points) >= 2]


# --- CSV -----------------------------------------------------------------------------------

def csv_columns(taxonomy: Taxonomy) -> list[str]:
    areas = [a.id for a in taxonomy.areas if a.id != taxonomy.off_topic_id]
    return ["path", "district", "year", "status", "title", "verdict", "score", "coverage", "specificity",
            *(f"coverage_{a}" for a in areas), *(f"concrete_{a}" for a in areas),
            "missing_areas", "warnings", "error_code", "error_message", "content_hash", "model_version",
            "characters"]


def _as_text(value):
    """A string Excel shows as typed rather than evaluates (OWASP's CSV-injection advice)."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value


class OutputError(OSError):
    """An output cannot be written; the message names the path (one line)."""


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` to write; it replaces `path` only once complete, so a
    kill or a full disk never leaves a half-written or empty output behind."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_stale_temporaries(out_dir: Path) -> list[Path]:
    """Delete the temporaries `replacing` left when its process was killed (its pid is gone)."""
    removed = []
    for path in out_dir.glob(".*.tmp"):
        match = re.fullmatch(r"\..+\.(\d+)\.tmp", path.name)
        if match and int(match.group(1)) != os.getpid() and not _process_alive(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def check_writable(out_dir: Path) -> None:
    """Raise OutputError now, before any scoring, if `out_dir` cannot take the outputs; clear
    what a killed earlier run left half written."""
    probe = out_dir / f".fazhi-write-check.{os.getpid()}"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
        remove_stale_temporaries(out_dir)
    except OSError as exc:
        raise OutputError(f"cannot write the outputs to {out_dir}: {exc.strerror or exc}") from exc


def write_csv(rows: list[dict], path: Path, taxonomy: Taxonomy) -> Path:
    with replacing(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=csv_columns(taxonomy), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            flat = {**row, "missing_areas": " ".join(row["missing_areas"]), "warnings": " | ".join(row["warnings"])}
            for area_id, value in row["area_coverage"].items():
                flat[f"coverage_{area_id}"] = value
            for area_id, value in row["area_concrete"].items():
                flat[f"concrete_{area_id}"] = value
            writer.writerow({key: _as_text(value) for key, value in flat.items()})
    return path


# --- XLSX ----------------------------------------------------------------------------------

def _add_sheet(workbook: Workbook, title: str, header: list[str], records: Iterable[list], widths: list[int],
               *, auto_filter: bool = False, colour_columns: tuple[int, int] | None = None) -> int:
    """Stream one sheet of a write-only workbook (constant memory at any number of rows): a
    bold frozen header, the records, column widths; optionally an auto-filter and a colour
    scale from 0 to 1 over the columns `colour_columns` (first, last; 1-based). Returns the
    number of records."""
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    for i, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    cells = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        cells.append(cell)
    sheet.append(cells)
    count = 0
    for record in records:
        sheet.append([_text_cell(sheet, value) for value in record])
        count += 1
    last_row = count + 1
    if auto_filter:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{last_row}"
    if colour_columns and count:
        first, last = (get_column_letter(c) for c in colour_columns)
        sheet.conditional_formatting.add(
            f"{first}2:{last}{last_row}",
            ColorScaleRule(start_type="num", start_value=0, start_color="F8F8F8", end_type="num", end_value=1,
                           end_color="2E7D32"))
    return count


def _text_cell(sheet, value):
    # openpyxl takes any "=…" string for a formula: such a title is written as the text it is.
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def write_xlsx(rows: list[dict], path: Path, taxonomy: Taxonomy) -> Path:
    names = taxonomy.names()
    workbook = Workbook(write_only=True)

    _add_sheet(workbook, SHEET_RANKING,
               ["排名", "区县", "年份", "总分", "覆盖度", "具体度", "结论", "缺少具体举措的领域", "提示", "标题", "文件", "状态"],
               ([r["rank"], r["district"], r["year"], r["score"], r["coverage"], r["specificity"],
                 VERDICT_LABELS.get(r["verdict"], r["verdict"]), "、".join(names[a] for a in r["missing_areas"]),
                 "\n".join(r["warnings"]), r["title"], r["path"], STATUS_LABELS[r["status"]]] for r in ranking(rows)),
               [6, 12, 7, 8, 8, 8, 16, 40, 50, 50, 36, 10], auto_filter=True)

    task_names = [names[a] for a in taxonomy.task_area_ids]
    _add_sheet(workbook, SHEET_MATRIX, ["区县", "年份", "总分", *task_names, "文件"],
               ([m.label, m.year, m.score, *m.coverage, m.path] for m in coverage_matrix(rows, taxonomy)),
               [14, 7, 8, *[14] * len(task_names), 36], colour_columns=(4, 3 + len(task_names)))

    _add_sheet(workbook, SHEET_ERRORS, ["文件", "区县", "年份", "错误代码", "说明"],
               ([r["path"], r["district"], r["year"], r["error_code"], r["error_message"]]
                for r in rows if r["status"] == STATUS_ERROR),
               [36, 12, 7, 14, 80])
    with replacing(path) as tmp:
        workbook.save(tmp)
    return path


# --- charts --------------------------------------------------------------------------------

def chart_font_family() -> str:
    """Register the packaged CJK font with matplotlib (idempotent) and return its family name."""
    font_manager.fontManager.addfont(str(CJK_FONT_FILE))
    return font_manager.FontProperties(fname=str(CJK_FONT_FILE)).get_name()


@contextmanager
def chart_style():
    """Figures made inside draw their text with the packaged CJK font."""
    with matplotlib.rc_context({"font.family": [chart_font_family()], "font.size": 10,
                                "axes.unicode_minus": False, "figure.dpi": DPI}):
        yield


def extremes(items: list, n: int) -> tuple[list, int]:
    """All items when there are at most 2n, else the first n and the last n; and how many
    were left out between them."""
    if len(items) <= 2 * n:
        return items, 0
    return items[:n] + items[-n:], len(items) - 2 * n


def heatmap_figure(matrix: list[MatrixRow], taxonomy: Taxonomy) -> Figure:
    """Every district's coverage by area (the matrix is best score first); beyond
    CHART_ALL_ROWS districts, the best and the worst CHART_EXTREMES, with a gap between."""
    names = taxonomy.names()
    shown, left_out = (matrix, 0) if len(matrix) <= CHART_ALL_ROWS else extremes(matrix, CHART_EXTREMES)
    values = np.array([m.coverage for m in shown])
    labels = [f"{m.label}{'' if m.year is None else f' {m.year}'} · {m.score:.1f}" for m in shown]
    if left_out:
        gap = np.full((1, values.shape[1]), np.nan)
        values = np.vstack([values[:CHART_EXTREMES], gap, values[CHART_EXTREMES:]])
        labels = labels[:CHART_EXTREMES] + [f"…… 另有 {left_out} 个区县 ……"] + labels[CHART_EXTREMES:]
    figure = Figure(figsize=(2.5 + 0.9 * values.shape[1], 2.2 + 0.4 * len(labels)), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="Greens", vmin=0, vmax=1, aspect="auto")
    axes.set_xticks(range(values.shape[1]), [names[a] for a in taxonomy.task_area_ids], rotation=40,
                    ha="right", rotation_mode="anchor")
    axes.set_yticks(range(len(labels)), labels)
    for (i, j), value in np.ndenumerate(values):
        if not np.isnan(value):
            axes.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                      color="white" if value > 0.6 else "black")
    axes.set_title("各区县最新报告的领域覆盖度" + (f"（总分前 {CHART_EXTREMES} 名与后 {CHART_EXTREMES} 名）" if left_out else ""))
    figure.colorbar(image, ax=axes, label="覆盖度", shrink=0.8)
    return figure


def specificity_figure(rows: list[dict]) -> Figure:
    values = [r["specificity"] for r in rows if _has_score(r)]
    figure = Figure(figsize=(6.4, 3.6), layout="constrained")
    axes = figure.add_subplot()
    axes.hist(values, bins=SPECIFICITY_BINS, color="#4c72b0", edgecolor="white")
    axes.set_xlim(0, 1)
    axes.set_xlabel("具体度（具体举措句子占实质性句子的比例）")
    axes.set_ylabel("报告数")
    axes.set_title(f"具体度分布（{len(values)} 份报告）")
    axes.yaxis.get_major_locator().set_params(integer=True)
    return figure


def biggest_changes(series: list[YearSeries], n: int) -> list[YearSeries]:
    """The n largest rises and the n largest falls from the year before (all, when few)."""
    ordered = sorted(series, key=lambda s: (-s.change, s.district))
    return extremes(ordered, n)[0]


def year_changes_figure(series: list[YearSeries]) -> Figure:
    """Score by year, one line per district; beyond YEAR_LINES_ALL districts, every district's
    scores as a box per year and lines for the largest rises and falls only."""
    years = sorted({year for s in series for year, _ in s.points})
    many = len(series) > YEAR_LINES_ALL
    lines = biggest_changes(series, YEAR_LINES_EXTREMES) if many else series
    figure = Figure(figsize=(3.5 + 1.2 * len(years), 3.5 + 0.15 * len(lines)), layout="constrained")
    axes = figure.add_subplot()
    if many:
        by_year = [[score for s in series for year, score in s.points if year == y] for y in years]
        axes.boxplot(by_year, positions=years, widths=0.35, showfliers=False,
                     medianprops={"color": "#555"}, boxprops={"color": "#999"}, whiskerprops={"color": "#999"},
                     capprops={"color": "#999"})
    for s in lines:
        xs, ys = zip(*s.points)
        line, = axes.plot(xs, ys, marker="o", label=f"{s.district} {s.change:+.1f}")
        if not many:
            axes.annotate(f"{s.district} {s.change:+.1f}", (xs[-1], ys[-1]), xytext=(6, 0),
                          textcoords="offset points", va="center", color=line.get_color())
    if many:  # end labels of the extremes would pile up at the top and the bottom: a legend
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="较上一年")
    axes.set_xticks(years, [str(y) for y in years])
    axes.set_xlim(years[0] - 0.3, years[-1] + (0.3 if many else 0.8))  # room for the labels at the right
    axes.set_ylabel("总分")
    axes.set_title(f"各区县总分的年度变化（{len(series)} 个区县的分布；升降最大的各 {YEAR_LINES_EXTREMES} 个）"
                   if many else "各区县总分的年度变化")
    axes.grid(axis="y", alpha=0.3)
    return figure


def _save(figure: Figure, path: Path) -> Path:
    with replacing(path) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    return path


def draw_charts(rows: list[dict], out_dir: Path, taxonomy: Taxonomy) -> tuple[dict[str, Path | None], list[str]]:
    """The PNG charts (None for a chart with nothing to show) and notes on what was left out."""
    charts: dict[str, Path | None] = {}
    notes = []
    matrix = coverage_matrix(rows, taxonomy)
    series = year_series(rows)
    with chart_style():
        charts["heatmap"] = _save(heatmap_figure(matrix, taxonomy), out_dir / HEATMAP_NAME) if matrix else None
        charts["specificity"] = (_save(specificity_figure(rows), out_dir / SPECIFICITY_NAME)
                                 if any(_has_score(r) for r in rows) else None)
        charts["year_changes"] = _save(year_changes_figure(series), out_dir / YEAR_CHANGES_NAME) if series else None
    if not matrix:
        notes.append("没有得到分数的报告，不绘制覆盖度和具体度图 / no report got a score")
    if not series:
        notes.append(NO_YEAR_CHANGES_NOTE)
    # A chart left out this time must not survive from an earlier run and contradict the rest.
    for name, filename in (("heatmap", HEATMAP_NAME), ("specificity", SPECIFICITY_NAME),
                           ("year_changes", YEAR_CHANGES_NAME)):
        if charts[name] is None:
            (out_dir / filename).unlink(missing_ok=True)
    return charts, notes


# --- HTML ----------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>法治政府建设报告批量评分</title>
<style>
body { font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif;
       margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; line-height: 1.5; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f5f7; white-space: nowrap; } td.short { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.unscored td { color: #777; } .muted { color: #666; font-size: .85rem; }
ul.warnings { margin: 0; padding-left: 1rem; font-size: .8rem; color: #8a5a00; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.summary span { display: inline-block; margin-right: 1.5rem; }
</style>
</head>
<body>
<h1>法治政府建设报告批量评分</h1>
<p class="summary">
  <span>文件 {{ rows|length }}</span><span>本次评分 {{ counts.scored }}</span>
  <span>已有结果 {{ counts.cached }}</span><span>错误 {{ counts.error }}</span>
</p>
<p class="muted">模型 {{ model_versions|join("、") or "—" }} · 生成于 {{ generated }} ·
  总分 = 100 ×（0.6 × 覆盖度 + 0.4 × 具体度）</p>

<h2 id="ranking">排名{% if pages > 1 %}（第 {{ page }} / {{ pages }} 页，每页 {{ page_rows_max }} 份）{% endif %}</h2>
{% macro pager() %}{% if pages > 1 %}<p class="pager">{% for n in range(1, pages + 1) %}{% if n == page %}<strong>{{ n }}</strong>{% else %}<a href="{{ page_file(n) }}">{{ n }}</a>{% endif %} {% endfor %}</p>{% endif %}{% endmacro %}
{{ pager() }}
<table id="ranking-table">
<thead><tr><th>排名</th><th>区县</th><th>年份</th><th>总分</th><th>覆盖度</th><th>具体度</th><th>结论</th>
<th>文件、标题与提示</th></tr></thead>
<tbody>
{% for r in page_rows %}
<tr{% if r.rank is none %} class="unscored"{% endif %} data-path="{{ r.path }}">
  <td class="num">{{ r.rank if r.rank is not none else "—" }}</td>
  <td class="short">{{ r.district or "—" }}</td><td class="short">{{ r.year or "—" }}</td>
  <td class="num score">{{ "%.1f"|format(r.score) if r.score is not none else "—" }}</td>
  <td class="num coverage">{{ "%.3f"|format(r.coverage) if r.coverage is not none else "—" }}</td>
  <td class="num specificity">{{ "%.3f"|format(r.specificity) if r.specificity is not none else "—" }}</td>
  <td class="short">{{ verdicts.get(r.verdict, r.verdict) }}</td>
  <td>{{ r.path }}{% if r.title %}<br><span class="muted">{{ r.title }}</span>{% endif %}
    {% if r.warnings %}<ul class="warnings">{% for w in r.warnings[:warnings_shown] %}<li>{{ w }}</li>{% endfor %}{% if r.warnings|length > warnings_shown %}<li>……（共 {{ r.warnings|length }} 条，见 scores.csv）</li>{% endif %}</ul>{% endif %}</td>
</tr>
{% endfor %}
</tbody>
</table>
{{ pager() }}
{% if page == 1 %}

<h2 id="heatmap">区县 × 领域覆盖度</h2>
{% if images.heatmap %}<img id="heatmap-chart" alt="各区县最新报告的领域覆盖度" src="{{ images.heatmap }}">
{% else %}<p class="muted">没有得到分数的报告。</p>{% endif %}

<h2 id="specificity">具体度分布</h2>
{% if images.specificity %}<img id="specificity-chart" alt="具体度分布" src="{{ images.specificity }}">
{% else %}<p class="muted">没有得到分数的报告。</p>{% endif %}

<h2 id="year-over-year">年度变化</h2>
{% if images.year_changes %}<img id="year-changes-chart" alt="各区县总分的年度变化" src="{{ images.year_changes }}">
{% if series_left_out %}<p class="muted">{{ series_total }} 个区县有两个及以上年份的报告；下表列出升降最大的各 {{ (series|length) // 2 }} 个，全部见 scores.xlsx。</p>{% endif %}
<table id="year-changes-table">
<thead><tr><th>区县</th><th>各年份总分</th><th>较上一年</th></tr></thead>
<tbody>
{% for s in series %}
<tr><td>{{ s.district }}</td><td>{% for year, score in s.points %}{{ year }}：{{ "%.1f"|format(score) }}{% if not loop.last %}，{% endif %}{% endfor %}</td>
<td class="num">{{ "%+.1f"|format(s.change) }}</td></tr>
{% endfor %}
</tbody>
</table>
{% else %}<p class="muted">{{ no_year_changes }}</p>{% endif %}

<h2 id="errors">错误（{{ errors_total }}）</h2>
{% if errors_total > errors|length %}<p class="muted">下表列出前 {{ errors|length }} 个，全部见 scores.xlsx 的“错误”表。</p>{% endif %}
{% if errors %}
<table id="errors-table">
<thead><tr><th>文件</th><th>错误代码</th><th>说明</th></tr></thead>
<tbody>
{% for r in errors %}<tr data-path="{{ r.path }}"><td>{{ r.path }}</td><td>{{ r.error_code }}</td><td>{{ r.error_message }}</td></tr>
{% endfor %}
</tbody>
</table>
{% else %}<p class="muted">所有文件都已读取和评分。</p>{% endif %}
{% endif %}
</body>
</html>
"""


def _data_uri(path: Path | None) -> str | None:
    return None if path is None else "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def ranking_page_name(page: int) -> str:
    """index.html for the first page of the ranking, ranking-N.html for the others."""
    return HTML_NAME if page == 1 else f"ranking-{page}.html"


def write_html(rows: list[dict], path: Path, charts: dict[str, Path | None]) -> list[Path]:
    """The summary page (`path`, with the charts and the first page of the ranking) and one
    page per further RANKING_PAGE_ROWS reports beside it; returns every page written."""
    environment = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    template = environment.from_string(_PAGE)
    ranked = ranking(rows)
    errors = [r for r in rows if r["status"] == STATUS_ERROR]
    series = year_series(rows)
    shown_series = biggest_changes(series, HTML_LIST_LIMIT // 2)
    pages = max(1, -(-len(ranked) // RANKING_PAGE_ROWS))
    common = dict(
        rows=rows, pages=pages, page_rows_max=RANKING_PAGE_ROWS, page_file=ranking_page_name,
        warnings_shown=WARNINGS_SHOWN,
        errors=errors[:HTML_LIST_LIMIT], errors_total=len(errors),
        series=shown_series, series_total=len(series), series_left_out=len(series) > len(shown_series),
        counts={status: sum(1 for r in rows if r["status"] == status) for status in STATUS_LABELS},
        model_versions=sorted({r["model_version"] for r in rows if r["model_version"]}),
        generated=datetime.now().astimezone().isoformat(timespec="seconds"),
        verdicts=VERDICT_LABELS,
        no_year_changes=NO_YEAR_CHANGES_NOTE,
    )
    written = []
    for page in range(1, pages + 1):
        target = path if page == 1 else path.with_name(ranking_page_name(page))
        html = template.render(
            **common, page=page, page_rows=ranked[(page - 1) * RANKING_PAGE_ROWS:page * RANKING_PAGE_ROWS],
            images={name: _data_uri(chart) for name, chart in charts.items()} if page == 1 else {})
        with replacing(target) as tmp:
            tmp.write_text(html, encoding="utf-8")
        written.append(target)
    # Pages beyond this run's count are an earlier, longer run's: they would contradict this one.
    for stale in path.parent.glob("ranking-*.html"):
        if stale not in written:
            stale.unlink(missing_ok=True)
    return written


def write_outputs(rows: list[dict], out_dir: Path | str, *, taxonomy: Taxonomy | None = None) -> BatchOutputs:
    """Write the CSV, the workbook, the charts and the summary page into `out_dir`."""
    taxonomy = taxonomy or load_taxonomy()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    charts, notes = draw_charts(rows, out_dir, taxonomy)
    csv_path = write_csv(rows, out_dir / CSV_NAME, taxonomy)
    xlsx_path = write_xlsx(rows, out_dir / XLSX_NAME, taxonomy)
    pages = write_html(rows, out_dir / HTML_NAME, charts)
    return BatchOutputs(csv=csv_path, xlsx=xlsx_path, html=pages[0], charts=charts, notes=notes,
                        ranking_pages=pages[1:])
