"""`fazhi batch`: a folder of district reports → SQLite, CSV, XLSX, charts and an HTML page.

The folder is made from the seed reports and recombinations of their paragraphs (every file
a different text): two districts with reports from 2019 and 2020, one district per year
otherwise, one report without a year folder, a .docx, a GB18030 .txt and a corrupt .docx.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import docx
import pytest
from bs4 import BeautifulSoup
from matplotlib import font_manager
from matplotlib.text import Text
from openpyxl import load_workbook

from fazhi import reporting
from fazhi.batch import BatchError, infer_from_layout, plan_batch, run_batch
from fazhi.cli import main
from fazhi.paths import CJK_FONT_FILE, DEFAULT_MODEL_FILE, REPORTS_DIR
from fazhi.taxonomy import load_taxonomy

pytestmark = pytest.mark.skipif(not DEFAULT_MODEL_FILE.is_file(), reason="no committed model in models/")

TAXONOMY = load_taxonomy()
CORRUPT = "2019/坏文件.docx"
GB18030_FILE = "2020/江北区.txt"
DOCX_FILE = "2020/大渡口区.docx"
NO_YEAR_FILE = "永川区.txt"
READABLE = ["2019/大渡口区.txt", "2019/巴南区.txt", DOCX_FILE, "2020/巴南区.txt", GB18030_FILE, NO_YEAR_FILE]
ALL_FILES = sorted([*READABLE, CORRUPT])
KILL_DEADLINE_SECONDS = 120


def _seed(prefix: str) -> tuple[str, list[str]]:
    """Title line and body paragraphs of a seed report."""
    (path,) = REPORTS_DIR.glob(f"{prefix}_*.txt")
    title, *body = [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    return title, body


def _write_docx(path: Path, paragraphs: list[str]) -> None:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    document.save(path)


def build_corpus(root: Path) -> Path:
    dadukou_title, dadukou = _seed("000")
    banan_title, banan = _seed("001")
    yongchuan_title, yongchuan = _seed("003")
    for folder in ("2019", "2020"):
        (root / folder).mkdir(parents=True)
    (root / "2019/大渡口区.txt").write_text("\n".join([dadukou_title, *dadukou]) + "\n", encoding="utf-8")
    _write_docx(root / DOCX_FILE, [dadukou_title.replace("2017", "2020"), *dadukou[1::2], *banan[::3]])
    (root / "2019/巴南区.txt").write_text("\n".join([banan_title.replace("2020", "2019"), *banan[::2]]) + "\n",
                                         encoding="utf-8")
    (root / "2020/巴南区.txt").write_text("\n".join([banan_title, *banan]) + "\n", encoding="utf-8")
    (root / GB18030_FILE).write_bytes(
        "\n".join(["重庆市江北区人民政府2020年法治政府建设情况报告", *dadukou[::2], *banan[1::2]]).encode("gb18030"))
    (root / NO_YEAR_FILE).write_text("\n".join([yongchuan_title, *yongchuan[: len(yongchuan) // 3]]) + "\n",
                                     encoding="utf-8")
    (root / CORRUPT).write_bytes(random.Random(0).randbytes(4096))
    return root


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def stored_rows(db: Path) -> list[tuple]:
    if not db.exists():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return conn.execute("SELECT filename, content_hash FROM reports").fetchall()
    except sqlite3.OperationalError:  # created but without its table yet
        return []


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("districts"))


@pytest.fixture(scope="module")
def first_run(corpus, tmp_path_factory):
    """`fazhi batch` with two worker processes; (exit code, stdout, output folder)."""
    out = tmp_path_factory.mktemp("out")
    code, stdout = run_cli("batch", str(corpus), "--out", str(out), "--workers", "2")
    return code, stdout, out


@pytest.fixture(scope="module")
def csv_rows(first_run) -> dict[str, dict]:
    return {row["path"]: row for row in read_csv(first_run[2] / reporting.CSV_NAME)}


# --- where district and year come from -----------------------------------------------------

@pytest.mark.parametrize("relative, expected", [
    ("2020/巴南区.docx", ("巴南区", 2020)),
    ("reports/2019/区县/大渡口区.pdf", ("大渡口区", 2019)),
    ("2018/补充/2019/江北区.txt", ("江北区", 2019)),   # the innermost year folder
    ("永川区.txt", ("永川区", None)),
    ("1999/渝中区.txt", ("渝中区", None)),              # outside 2000–2099
    ("2020/2020.txt", (None, 2020)),                    # a name without letters names no district
])
def test_layout_rule(relative, expected):
    assert infer_from_layout(relative) == expected


def test_manifest_gives_district_and_year(corpus, tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_bytes("path,district,year\r\n永川区.txt,永川区,2016\r\n2019\\巴南区.txt,巴南,\r\n"
                         .encode("utf-8-sig"))
    planned = {r.relative: r for r in plan_batch(corpus, manifest)}
    assert [planned[NO_YEAR_FILE].district, planned[NO_YEAR_FILE].year] == ["永川区", 2016]
    assert [planned["2019/巴南区.txt"].district, planned["2019/巴南区.txt"].year] == ["巴南", None]
    assert any("year unknown" in note for note in planned["2019/巴南区.txt"].notes)
    # Not listed: from the layout, with a warning.
    assert (planned["2020/巴南区.txt"].district, planned["2020/巴南区.txt"].year) == ("巴南区", 2020)
    assert any("not in the manifest" in note for note in planned["2020/巴南区.txt"].notes)


@pytest.mark.parametrize("content, message", [
    ("path,district\n永川区.txt,永川区\n", "no column year"),
    ("path,district,year\n永川区.txt,永川区,16\n", "line 2: year '16'"),
    ("path,district,year\n2019/没有.txt,没有,2019\n", "not found"),
    ("path,district,year\n永川区.txt,永川区,2016\n永川区.txt,永川区,2016\n", "listed twice"),
])
def test_bad_manifest_exits_2_in_one_line(corpus, tmp_path, capsys, content, message):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(content, encoding="utf-8")
    assert main(["batch", str(corpus), "--out", str(tmp_path / "out"), "--manifest", str(manifest)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    with pytest.raises(BatchError):
        plan_batch(corpus, manifest)


def test_missing_or_empty_folder_exits_2(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.md").write_text("not a report", encoding="utf-8")
    assert main(["batch", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    assert "no report files" in capsys.readouterr().err


# --- the first run and its outputs ---------------------------------------------------------

def test_run_summary_lists_errors_and_outputs(first_run):
    code, stdout, out = first_run
    assert code == 0, stdout
    assert stdout.startswith(f"{len(ALL_FILES)} reports: {len(READABLE)} scored, 0 cached, 1 errors in ")
    assert f"error {CORRUPT}: [corrupt]" in stdout
    for name in (reporting.CSV_NAME, reporting.XLSX_NAME, reporting.HTML_NAME, reporting.HEATMAP_NAME,
                 reporting.SPECIFICITY_NAME, reporting.YEAR_CHANGES_NAME):
        assert f"wrote {out / name}" in stdout
        assert (out / name).stat().st_size > 0
    assert (out / reporting.HEATMAP_NAME).read_bytes().startswith(b"\x89PNG")


def test_csv_one_row_per_file_with_bom(first_run, csv_rows):
    data = (first_run[2] / reporting.CSV_NAME).read_bytes()
    assert data.startswith(b"\xef\xbb\xbfpath,district,year,status,")
    header = data.decode("utf-8-sig").splitlines()[0].split(",")
    assert header == reporting.csv_columns(TAXONOMY)
    assert sorted(csv_rows) == ALL_FILES
    assert {p: r["status"] for p, r in csv_rows.items()} == {**{p: "scored" for p in READABLE}, CORRUPT: "error"}
    assert csv_rows[CORRUPT]["error_code"] == "corrupt" and csv_rows[CORRUPT]["error_message"]
    gb = csv_rows[GB18030_FILE]
    assert (gb["district"], gb["year"], gb["title"]) == ("江北区", "2020", "重庆市江北区人民政府2020年法治政府建设情况报告")
    assert "year unknown" in csv_rows[NO_YEAR_FILE]["warnings"] and csv_rows[NO_YEAR_FILE]["year"] == ""
    assert len({r["content_hash"] for r in csv_rows.values() if r["content_hash"]}) == len(READABLE)


def test_xlsx_ranking_matrix_errors_agree_with_csv(first_run, csv_rows):
    workbook = load_workbook(first_run[2] / reporting.XLSX_NAME)
    assert workbook.sheetnames == [reporting.SHEET_RANKING, reporting.SHEET_MATRIX, reporting.SHEET_ERRORS]

    header, *ranking = list(workbook[reporting.SHEET_RANKING].values)
    ranked = [dict(zip(header, row)) for row in ranking]
    scores = [r["总分"] for r in ranked]
    assert scores == sorted(scores, reverse=True) and len(ranked) == len(READABLE)
    assert [r["排名"] for r in ranked][0] == 1
    assert {r["文件"]: r["总分"] for r in ranked} == {p: float(csv_rows[p]["score"]) for p in READABLE}

    header, *matrix = list(workbook[reporting.SHEET_MATRIX].values)
    latest = {row[0]: row[1] for row in matrix}
    assert latest == {"大渡口区": 2020, "巴南区": 2020, "江北区": 2020, "永川区": None}
    area_names = [TAXONOMY.area(a).name for a in TAXONOMY.task_area_ids]
    assert list(header[3:3 + len(area_names)]) == area_names
    docx_row = next(row for row in matrix if row[-1] == DOCX_FILE)
    assert list(docx_row[3:3 + len(area_names)]) == [float(csv_rows[DOCX_FILE][f"coverage_{a}"])
                                                      for a in TAXONOMY.task_area_ids]

    header, *errors = list(workbook[reporting.SHEET_ERRORS].values)
    assert [(row[0], row[3]) for row in errors] == [(CORRUPT, "corrupt")]


def test_html_is_offline_and_agrees_with_csv(first_run, csv_rows):
    page = (first_run[2] / reporting.HTML_NAME).read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    soup = BeautifulSoup(page, "html.parser")
    assert not soup.find_all(["script", "link", "iframe"])
    images = soup.find_all("img")
    assert len(images) == 3 and all(img["src"].startswith("data:image/png;base64,") for img in images)

    ranking = soup.select("#ranking-table tbody tr")
    assert sorted(tr["data-path"] for tr in ranking) == sorted(READABLE)
    for tr in ranking:
        row = csv_rows[tr["data-path"]]
        assert float(tr.select_one("td.score").text) == float(row["score"])
        assert tr.select_one("td.coverage").text == f"{float(row['coverage']):.3f}"
        assert tr.select_one("td.specificity").text == f"{float(row['specificity']):.3f}"
    shown = [float(tr.select_one("td.score").text) for tr in ranking]
    assert shown == sorted(shown, reverse=True)
    assert [tr["data-path"] for tr in soup.select("#errors-table tbody tr")] == [CORRUPT]
    assert {td.text for td in soup.select("#year-changes-table td:first-child")} == {"大渡口区", "巴南区"}


@pytest.mark.parametrize("relative", [GB18030_FILE, DOCX_FILE])
def test_batch_row_equals_fazhi_score_json(corpus, csv_rows, relative):
    code, stdout = run_cli("score", str(corpus / relative), "--json")
    assert code == 0
    single = json.loads(stdout)
    row = csv_rows[relative]
    assert float(row["score"]) == single["score"]
    assert float(row["coverage"]) == single["coverage"]
    assert float(row["specificity"]) == single["specificity"]
    assert row["model_version"] == single["model_version"]


def test_second_run_scores_nothing_again(corpus, first_run, csv_rows):
    rows = run_batch(corpus, db_path=first_run[2] / "fazhi-batch.db", workers=2)
    assert {r["path"]: r["status"] for r in rows} == {**{p: "cached" for p in READABLE}, CORRUPT: "error"}
    assert {r["path"]: r["score"] for r in rows if r["score"] is not None} == \
        {p: float(csv_rows[p]["score"]) for p in READABLE}
    assert len(stored_rows(first_run[2] / "fazhi-batch.db")) == len(READABLE)


def test_charts_use_the_packaged_cjk_font():
    matrix = [reporting.MatrixRow("大渡口区", 2020, "2020/大渡口区.docx", 60.0, [1.0] * len(TAXONOMY.task_area_ids))]
    series = [reporting.YearSeries("巴南区", [(2019, 60.0), (2020, 74.1)])]
    with reporting.chart_style():
        figures = [reporting.heatmap_figure(matrix, TAXONOMY), reporting.year_changes_figure(series)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for figure in figures:
            figure.savefig(io.BytesIO(), format="png")
            texts = [t for t in figure.findobj(Text) if t.get_text()]
            assert any("体系" in t.get_text() or "巴南区" in t.get_text() for t in texts)
            for text in texts:
                assert Path(font_manager.findfont(text.get_fontproperties())) == CJK_FONT_FILE
    assert not [w for w in caught if "missing from font" in str(w.message)]


def test_formula_looking_text_stays_text_in_csv_and_xlsx(tmp_path):
    row = {"path": "=1+1.txt", "district": "@区", "year": 2020, "status": "scored", "title": '=HYPERLINK("x")',
           "verdict": "scored", "score": 50.0, "coverage": 0.5, "specificity": 0.25, "area_coverage": {},
           "area_concrete": {}, "missing_areas": [], "warnings": ["-1"], "content_hash": "h", "model_version": "v",
           "characters": 1, "error_code": None, "error_message": None}
    reporting.write_csv([row], tmp_path / "a.csv", TAXONOMY)
    reporting.write_xlsx([row], tmp_path / "a.xlsx", TAXONOMY)
    (written,) = read_csv(tmp_path / "a.csv")
    assert (written["title"], written["path"], written["score"]) == ("'=HYPERLINK(\"x\")", "'=1+1.txt", "50.0")
    cells = {c.value: c.data_type for c in load_workbook(tmp_path / "a.xlsx")[reporting.SHEET_RANKING][2]}
    assert cells['=HYPERLINK("x")'] == "s" and cells["=1+1.txt"] == "s"


# --- a run killed halfway ------------------------------------------------------------------

def test_killed_run_restarts_and_finishes_every_report_once(corpus, tmp_path):
    out = tmp_path / "out"
    db = out / "fazhi-batch.db"
    log = tmp_path / "batch.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "fazhi.cli", "batch", str(corpus), "--out", str(out),
                                    "--workers", "1"], stdout=log_file, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + KILL_DEADLINE_SECONDS
            while not stored_rows(db):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"no report stored before exit or deadline:\n{log.read_text(errors='replace')}")
                time.sleep(0.02)
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.kill()
            process.wait()
    before = stored_rows(db)
    assert 1 <= len(before) < len(READABLE)

    code, stdout = run_cli("batch", str(corpus), "--out", str(out), "--workers", "1")
    assert code == 0, stdout
    assert stdout.startswith(f"{len(ALL_FILES)} reports: {len(READABLE) - len(before)} scored, "
                             f"{len(before)} cached, 1 errors")
    after = stored_rows(db)
    assert sorted(name for name, _ in after) == sorted(READABLE)
    assert len({content for _, content in after}) == len(READABLE)
    listed = [row["path"] for row in read_csv(out / reporting.CSV_NAME)]
    assert sorted(listed) == ALL_FILES
    soup = BeautifulSoup((out / reporting.HTML_NAME).read_text(encoding="utf-8"), "html.parser")
    assert sorted(tr["data-path"] for tr in soup.select("#ranking-table tbody tr")) == sorted(READABLE)


@pytest.mark.parametrize("start_method", ["fork", "forkserver"])
def test_two_workers_score_as_one_process_with_more_texts_than_in_flight(tmp_path, monkeypatch, start_method):
    """More texts than the workers hold in flight: while the workers start, the batch process
    scores texts itself. Every text is scored once, with the figures of an in-process run,
    by workers forked from the batch process and, while it runs another thread, from a fork server."""
    from fazhi import batch
    from fazhi.model import get_classifier
    from fazhi.scoring import score_report

    started_with = []

    def recorded_context():
        context = original_context()
        started_with.append(context.get_start_method())
        return context

    original_context = batch._worker_context
    monkeypatch.setattr(batch, "_worker_context", recorded_context)
    release = threading.Event()
    if start_method == "forkserver":
        other = threading.Thread(target=release.wait, daemon=True)
        other.start()

    title, sentences = _seed("001")
    folder = tmp_path / "reports" / "2020"
    folder.mkdir(parents=True)
    texts = {}
    for i in range(14):  # distinct texts: a different slice of the seed each
        text = "\n".join([title, *sentences[i % 5::5 + i // 5]]) + "\n"
        texts[f"2020/区{i:02d}.txt"] = text
        (folder / f"区{i:02d}.txt").write_text(text, encoding="utf-8")
    db = tmp_path / "batch.db"
    try:
        rows = run_batch(tmp_path / "reports", db_path=db, workers=2)
    finally:
        release.set()
    assert started_with == [start_method]
    assert sorted(r["path"] for r in rows) == sorted(texts) and {r["status"] for r in rows} == {"scored"}
    assert len(stored_rows(db)) == len(texts)
    model = get_classifier(DEFAULT_MODEL_FILE)
    for row in rows:
        assert row["score"] == score_report(model, texts[row["path"]])["score"]


# --- outputs at thousands of districts ------------------------------------------------------

def synthetic_rows(count: int, seed: int = 7) -> list[dict]:
    """Batch rows as run_batch returns them, for `count` reports of count/4 districts over 4 years."""
    rng = random.Random(seed)
    areas = [a.id for a in TAXONOMY.areas if a.id != TAXONOMY.off_topic_id]
    rows = []
    for i in range(count):
        coverage = {a: round(rng.random(), 3) for a in areas}
        rows.append({"path": f"{2020 + i % 4}/区{i // 4:05d}.txt", "district": f"区{i // 4:05d}", "year": 2020 + i % 4,
                     "status": "scored", "title": "关于法治政府建设工作情况的报告", "verdict": "scored",
                     "score": round(rng.uniform(20, 80), 1), "coverage": rng.random(), "specificity": rng.random(),
                     "area_coverage": coverage, "area_concrete": {a: 3 * rng.random() for a in areas},
                     "missing_areas": [a for a in areas if coverage[a] < 0.3],
                     "warnings": [f"提示 {k}" for k in range(rng.randrange(6))],
                     "content_hash": f"{i:064x}", "model_version": "m", "characters": 8000,
                     "error_code": None, "error_message": None})
    return rows


def test_outputs_stay_usable_at_three_thousand_districts(tmp_path):
    from PIL import Image

    rows = synthetic_rows(12_000)  # 3,000 districts × 4 years
    outputs = reporting.write_outputs(rows, tmp_path)
    pages = [outputs.html, *outputs.ranking_pages]
    assert len(pages) == -(-len(rows) // reporting.RANKING_PAGE_ROWS)
    assert all(page.stat().st_size < 2 * 1024 * 1024 for page in pages)
    listed = []
    for page in pages:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        listed += [tr["data-path"] for tr in soup.select("#ranking-table tbody tr")]
    assert sorted(listed) == sorted(r["path"] for r in rows)  # every report on exactly one page
    first = BeautifulSoup(outputs.html.read_text(encoding="utf-8"), "html.parser")
    assert len(first.select("#year-changes-table tbody tr")) <= reporting.HTML_LIST_LIMIT
    for chart in outputs.charts.values():
        with Image.open(chart) as image:
            assert image.height < 3000 and chart.stat().st_size < 1024 * 1024  # a page, not a scroll

    # A later, smaller run leaves no page of the earlier one behind.
    smaller = reporting.write_outputs(synthetic_rows(600), tmp_path)
    assert sorted(tmp_path.glob("ranking-*.html")) == smaller.ranking_pages == [tmp_path / "ranking-2.html"]


def test_the_heatmap_shows_the_best_and_the_worst_beyond_forty_districts():
    matrix = reporting.coverage_matrix(synthetic_rows(400), TAXONOMY)  # 100 districts
    with reporting.chart_style():
        figure = reporting.heatmap_figure(matrix, TAXONOMY)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert len(labels) == 2 * reporting.CHART_EXTREMES + 1 and "另有 60 个区县" in labels[reporting.CHART_EXTREMES]
    assert labels[0].startswith(matrix[0].label) and labels[-1].startswith(matrix[-1].label)
