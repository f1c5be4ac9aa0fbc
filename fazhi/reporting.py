"""What a batch run leaves in its output folder, made from the rows `fazhi.batch.run_batch` returns.

- ``scores.csv``: one row per file, errors included (UTF-8 with a BOM so that Excel reads it);
- ``scores.xlsx``: sheets 排名 (ranking by score), 区县×领域 (coverage of each task area in
  each district's latest scored report) and 错误 (files that could not be scored);
- three PNG charts: the district × area coverage heatmap, the distribution of specificity,
  and the score of districts with reports from several years (left out, with a note, when no
  district has two);
- ``index.html``: one self-contained page (inline CSS, charts as data: URIs, nothing fetched)
  with the ranking, the charts, the year-over-year table and the errors.

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
from typing import Iterator

import matplotlib
import numpy as np
from jinja2 import Environment
from matplotlib import font_manager
from matplotlib.figure import Figure
from openpyxl import Workbook
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
    html: Path
    charts: dict[str, Path | None]  # heatmap, specificity, year_changes: None when not drawn
    notes: list[str] = field(default_factory=list)

    def paths(self) -> list[Path]:
        return [self.csv, self.xlsx, self.html, *(p for p in self.charts.values() if p)]


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

def _add_sheet(workbook: Workbook, title: str, header: list[str], records: list[list], widths: list[int]):
    sheet = workbook.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for record in records:
        sheet.append(record)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if cell.data_type == "f":  # openpyxl takes any "=…" string for a formula
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    for i, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    return sheet


def write_xlsx(rows: list[dict], path: Path, taxonomy: Taxonomy) -> Path:
    names = taxonomy.names()
    workbook = Workbook()
    workbook.remove(workbook.active)

    ranked = ranking(rows)
    sheet = _add_sheet(workbook, SHEET_RANKING,
                       ["排名", "区县", "年份", "总分", "覆盖度", "具体度", "结论", "缺少具体举措的领域", "提示", "标题", "文件", "状态"],
                       [[r["rank"], r["district"], r["year"], r["score"], r["coverage"], r["specificity"],
                         VERDICT_LABELS.get(r["verdict"], r["verdict"]), "、".join(names[a] for a in r["missing_areas"]),
                         "\n".join(r["warnings"]), r["title"], r["path"], STATUS_LABELS[r["status"]]] for r in ranked],
                       [6, 12, 7, 8, 8, 8, 16, 40, 50, 50, 36, 10])
    sheet.auto_filter.ref = sheet.dimensions

    matrix = coverage_matrix(rows, taxonomy)
    task_names = [names[a] for a in taxonomy.task_area_ids]
    sheet = _add_sheet(workbook, SHEET_MATRIX, ["区县", "年份", "总分", *task_names, "文件"],
                       [[m.label, m.year, m.score, *m.coverage, m.path] for m in matrix],
                       [14, 7, 8, *[14] * len(task_names), 36])
    if matrix:
        first, last = get_column_letter(4), get_column_letter(3 + len(task_names))
        sheet.conditional_formatting.add(
            f"{first}2:{last}{len(matrix) + 1}",
            ColorScaleRule(start_type="num", start_value=0, start_color="F8F8F8", end_type="num", end_value=1,
                           end_color="2E7D32"))

    _add_sheet(workbook, SHEET_ERRORS, ["文件", "区县", "年份", "错误代码", "说明"],
               [[r["path"], r["district"], r["year"], r["error_code"], r["error_message"]]
                for r in rows if r["status"] == STATUS_ERROR],
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


def heatmap_figure(matrix: list[MatrixRow], taxonomy: Taxonomy) -> Figure:
    names = taxonomy.names()
    values = np.array([m.coverage for m in matrix])
    labels = [m.label if m.year is None else f"{m.label} {m.year}" for m in matrix]
    figure = Figure(figsize=(2.5 + 0.9 * values.shape[1], 2.2 + 0.4 * len(matrix)), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="Greens", vmin=0, vmax=1, aspect="auto")
    axes.set_xticks(range(values.shape[1]), [names[a] for a in taxonomy.task_area_ids], rotation=40,
                    ha="right", rotation_mode="anchor")
    axes.set_yticks(range(len(labels)), labels)
    for (i, j), value in np.ndenumerate(values):
        axes.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                  color="white" if value > 0.6 else "black")
    axes.set_title("各区县最新报告的领域覆盖度")
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


def year_changes_figure(series: list[YearSeries]) -> Figure:
    years = sorted({year for s in series for year, _ in s.points})
    figure = Figure(figsize=(3.5 + 1.2 * len(years), 3.5 + 0.15 * len(series)), layout="constrained")
    axes = figure.add_subplot()
    for s in series:
        xs, ys = zip(*s.points)
        line, = axes.plot(xs, ys, marker="o")
        axes.annotate(f"{s.district} {s.change:+.1f}", (xs[-1], ys[-1]), xytext=(6, 0),
                      textcoords="offset points", va="center", color=line.get_color())
    axes.set_xticks(years, [str(y) for y in years])
    axes.set_xlim(years[0] - 0.3, years[-1] + 0.8)  # room for the labels at the right
    axes.set_ylabel("总分")
    axes.set_title("各区县总分的年度变化")
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

<h2 id="ranking">排名</h2>
<table id="ranking-table">
<thead><tr><th>排名</th><th>区县</th><th>年份</th><th>总分</th><th>覆盖度</th><th>具体度</th><th>结论</th>
<th>文件、标题与提示</th></tr></thead>
<tbody>
{% for r in ranked %}
<tr{% if r.rank is none %} class="unscored"{% endif %} data-path="{{ r.path }}">
  <td class="num">{{ r.rank if r.rank is not none else "—" }}</td>
  <td class="short">{{ r.district or "—" }}</td><td class="short">{{ r.year or "—" }}</td>
  <td class="num score">{{ "%.1f"|format(r.score) if r.score is not none else "—" }}</td>
  <td class="num coverage">{{ "%.3f"|format(r.coverage) if r.coverage is not none else "—" }}</td>
  <td class="num specificity">{{ "%.3f"|format(r.specificity) if r.specificity is not none else "—" }}</td>
  <td class="short">{{ verdicts.get(r.verdict, r.verdict) }}</td>
  <td>{{ r.path }}{% if r.title %}<br><span class="muted">{{ r.title }}</span>{% endif %}
    {% if r.warnings %}<ul class="warnings">{% for w in r.warnings %}<li>{{ w }}</li>{% endfor %}</ul>{% endif %}</td>
</tr>
{% endfor %}
</tbody>
</table>

<h2 id="heatmap">区县 × 领域覆盖度</h2>
{% if images.heatmap %}<img id="heatmap-chart" alt="各区县最新报告的领域覆盖度" src="{{ images.heatmap }}">
{% else %}<p class="muted">没有得到分数的报告。</p>{% endif %}

<h2 id="specificity">具体度分布</h2>
{% if images.specificity %}<img id="specificity-chart" alt="具体度分布" src="{{ images.specificity }}">
{% else %}<p class="muted">没有得到分数的报告。</p>{% endif %}

<h2 id="year-over-year">年度变化</h2>
{% if images.year_changes %}<img id="year-changes-chart" alt="各区县总分的年度变化" src="{{ images.year_changes }}">
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

<h2 id="errors">错误（{{ errors|length }}）</h2>
{% if errors %}
<table id="errors-table">
<thead><tr><th>文件</th><th>错误代码</th><th>说明</th></tr></thead>
<tbody>
{% for r in errors %}<tr data-path="{{ r.path }}"><td>{{ r.path }}</td><td>{{ r.error_code }}</td><td>{{ r.error_message }}</td></tr>
{% endfor %}
</tbody>
</table>
{% else %}<p class="muted">所有文件都已读取和评分。</p>{% endif %}
</body>
</html>
"""


def _data_uri(path: Path | None) -> str | None:
    return None if path is None else "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def write_html(rows: list[dict], path: Path, charts: dict[str, Path | None]) -> Path:
    environment = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    page = environment.from_string(_PAGE).render(
        rows=rows,
        ranked=ranking(rows),
        errors=[r for r in rows if r["status"] == STATUS_ERROR],
        series=year_series(rows),
        counts={status: sum(1 for r in rows if r["status"] == status) for status in STATUS_LABELS},
        model_versions=sorted({r["model_version"] for r in rows if r["model_version"]}),
        generated=datetime.now().astimezone().isoformat(timespec="seconds"),
        verdicts=VERDICT_LABELS,
        images={name: _data_uri(chart) for name, chart in charts.items()},
        no_year_changes=NO_YEAR_CHANGES_NOTE,
    )
    with replacing(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


def write_outputs(rows: list[dict], out_dir: Path | str, *, taxonomy: Taxonomy | None = None) -> BatchOutputs:
    """Write the CSV, the workbook, the charts and the summary page into `out_dir`."""
    taxonomy = taxonomy or load_taxonomy()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    charts, notes = draw_charts(rows, out_dir, taxonomy)
    return BatchOutputs(
        csv=write_csv(rows, out_dir / CSV_NAME, taxonomy),
        xlsx=write_xlsx(rows, out_dir / XLSX_NAME, taxonomy),
        html=write_html(rows, out_dir / HTML_NAME, charts),
        charts=charts,
        notes=notes,
    )
