"""The `fazhi classify` command, called in-process with the committed model."""
from __future__ import annotations

import json
import re

import pytest

from fazhi.cli import main
from fazhi.paths import DEFAULT_MODEL_FILE, REPORTS_DIR
from fazhi.splitter import split_units
from fazhi.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy()
AREA_IDS = TAXONOMY.area_ids
KEYS = {"text", "area", "area_scores", "category", "concrete_prob"}
(REPORT,) = REPORTS_DIR.glob("001_*.txt")

CONCRETE = "2017年，区政府办理行政复议案件43件，全部在法定时限内办结。"
SLOGAN = "切实做好行政应诉工作。"
# Real sentences of 000 and 001, and one line of page furniture.
SENTENCES = [
    CONCRETE,
    SLOGAN,
    "印发《关于进一步健全完善“两法衔接”工作机制的意见》，建立联席会议制度。",
    "投入资金1500万元,在全市率先运用区块链技术开发“一窗综办”共享系统。",
    "坚持严格规范公正文明执法，努力让人民群众在每一个执法决定中感受到公平正义。",
    "",
    "区长公开信箱办理回复各类网民来信410余件，办理回复率达96%。",
    "扫一扫在手机打开当前页",
]

pytestmark = pytest.mark.skipif(not DEFAULT_MODEL_FILE.is_file(), reason="no committed model in models/")


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def output_lines(out: str) -> list[str]:
    """JSON lines of stdout, split at "\\n" only (a JSON string may hold U+2028)."""
    return out[:-1].split("\n") if out.endswith("\n") else ([out] if out else [])


def check_row(row: dict) -> None:
    assert set(AREA_IDS) == set(row["area_scores"]) and len(row["area_scores"]) == 11
    assert sum(row["area_scores"].values()) == pytest.approx(1.0, abs=2e-3)
    assert all(0.0 <= s <= 1.0 for s in row["area_scores"].values())
    assert row["area"] in AREA_IDS
    assert row["area_scores"][row["area"]] == max(row["area_scores"].values())
    if row["area"] == TAXONOMY.off_topic_id:
        assert row["category"] is None and row["concrete_prob"] is None
    elif row.get("kind", "body") == "body":
        assert row["category"] in ("concrete", "slogan")
        assert 0.0 <= row["concrete_prob"] <= 1.0
        assert (row["category"] == "concrete") == (row["concrete_prob"] >= 0.5)


@pytest.fixture
def sentences_file(tmp_path):
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    return path


def test_sentences_one_object_per_line_in_order(capsys, sentences_file):
    code, out, err = run(capsys, "classify", "--sentences", str(sentences_file))
    assert code == 0, err
    lines = output_lines(out)
    assert len(lines) == len(SENTENCES)
    rows = [json.loads(line) for line in lines]
    assert [r["text"] for r in rows] == SENTENCES
    for row in rows:
        assert set(row) == KEYS
        check_row(row)
    blank = rows[SENTENCES.index("")]
    assert blank["area"] == "none" and blank["category"] is None


def test_clear_examples_of_the_guide(capsys, sentences_file):
    code, out, _ = run(capsys, "classify", "--sentences", str(sentences_file))
    rows = {r["text"]: r for r in map(json.loads, output_lines(out))}
    assert (rows[CONCRETE]["area"], rows[CONCRETE]["category"]) == ("disputes", "concrete")
    assert rows[CONCRETE]["concrete_prob"] > 0.5
    assert rows[SLOGAN]["category"] == "slogan"
    assert rows[SLOGAN]["area"] == "disputes"
    assert rows[SLOGAN]["concrete_prob"] < 0.5
    assert rows["扫一扫在手机打开当前页"]["area"] == "none"


def test_crlf_and_bom_input(capsys, tmp_path):
    path = tmp_path / "windows.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join([CONCRETE, SLOGAN]).encode("utf-8") + b"\r\n")
    code, out, err = run(capsys, "classify", "--sentences", str(path))
    assert code == 0, err
    assert [json.loads(line)["text"] for line in output_lines(out)] == [CONCRETE, SLOGAN]


def test_report_units_with_kind_and_offsets(capsys):
    code, out, err = run(capsys, "classify", str(REPORT))
    assert code == 0, err
    text = REPORT.read_text(encoding="utf-8")
    rows = [json.loads(line) for line in output_lines(out)]
    assert len(rows) == len(split_units(text)) > 100
    previous_end = 0
    for row in rows:
        assert set(row) == KEYS | {"kind", "start", "end"}
        assert row["kind"] in ("heading", "body", "furniture")
        assert previous_end <= row["start"] < row["end"] <= len(text)
        assert re.sub(r"\s+", "", text[row["start"]:row["end"]]) == re.sub(r"\s+", "", row["text"])
        previous_end = row["end"]
        check_row(row)
        if row["kind"] != "body":
            assert row["category"] is None and row["concrete_prob"] is None
        if row["kind"] == "furniture":
            assert row["area"] == "none" and row["area_scores"]["none"] == 1.0
    kinds = {r["kind"] for r in rows}
    assert kinds == {"heading", "body", "furniture"}
    by_text = {r["text"]: r for r in rows}
    assert by_text["扫一扫在手机打开当前页"]["kind"] == "furniture"
    assert by_text["二、深化“放管服”改革,努力营造法治化营商环境"]["kind"] == "heading"
    assert by_text["二、深化“放管服”改革,努力营造法治化营商环境"]["area"] == "functions"
    concrete = by_text["投入资金1500万元,在全市率先运用区块链技术开发“一窗综办”共享系统。"]
    assert concrete["kind"] == "body" and concrete["category"] == "concrete"


# --- bad input -------------------------------------------------------------------------

def assert_clean_failure(code: int, out: str, err: str, mention: str) -> None:
    assert code != 0
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err  # one line
    assert "Traceback" not in err
    assert mention in err


def bad_file(tmp_path, kind: str):
    path = tmp_path / f"{kind}.txt"
    if kind == "missing":
        return path
    data = {
        "empty": b"",
        "blank": b"\n \n\t\n",
        "binary": bytes(range(256)) * 4,
        "gb18030": "\n".join([CONCRETE, SLOGAN]).encode("gb18030"),
    }[kind]
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", ["missing", "empty", "blank", "binary", "gb18030"])
def test_bad_sentences_file_fails_cleanly(capsys, tmp_path, kind):
    path = bad_file(tmp_path, kind)
    code, out, err = run(capsys, "classify", "--sentences", str(path))
    assert_clean_failure(code, out, err, str(path))


@pytest.mark.parametrize("kind", ["missing", "empty", "binary"])
def test_bad_report_file_fails_cleanly(capsys, tmp_path, kind):
    path = bad_file(tmp_path, kind)
    code, out, err = run(capsys, "classify", str(path))
    assert_clean_failure(code, out, err, str(path))


def test_missing_model_fails_cleanly(capsys, sentences_file, tmp_path):
    missing = tmp_path / "no-such-model.joblib"
    code, out, err = run(capsys, "classify", "--sentences", str(sentences_file), "--model", str(missing))
    assert_clean_failure(code, out, err, str(missing))


def test_foreign_model_file_fails_cleanly(capsys, sentences_file, tmp_path):
    foreign = tmp_path / "model.joblib"
    foreign.write_text("not a model", encoding="utf-8")
    code, out, err = run(capsys, "classify", "--sentences", str(sentences_file), "--model", str(foreign))
    assert_clean_failure(code, out, err, str(foreign))


def test_truncated_model_file_fails_cleanly(capsys, sentences_file, tmp_path):
    truncated = tmp_path / "model.joblib"
    truncated.write_bytes(DEFAULT_MODEL_FILE.read_bytes()[:100_000])
    code, out, err = run(capsys, "classify", "--sentences", str(sentences_file), "--model", str(truncated))
    assert_clean_failure(code, out, err, str(truncated))


def test_sentences_and_report_together_or_neither(capsys, sentences_file):
    code, out, err = run(capsys, "classify", str(REPORT), "--sentences", str(sentences_file))
    assert_clean_failure(code, out, err, "--sentences")
    code, out, err = run(capsys, "classify")
    assert_clean_failure(code, out, err, "--sentences")


@pytest.mark.parametrize("separator", ["\f", "\u2028"], ids=["form-feed", "line-separator"])
def test_one_object_per_newline_terminated_line(capsys, tmp_path, separator):
    path = tmp_path / "sentences.txt"
    line = f"{CONCRETE}{separator}{SLOGAN}"
    path.write_text(line + "\n" + SLOGAN + "\n", encoding="utf-8")
    code, out, err = run(capsys, "classify", "--sentences", str(path))
    assert code == 0, err
    rows = [json.loads(r) for r in output_lines(out)]
    assert [r["text"] for r in rows] == [line, SLOGAN]
