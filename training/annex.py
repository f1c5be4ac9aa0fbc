"""Parse the annex table of document 003 (永川区法治政府建设任务措施分工表) into sub-measures.

The annex is a table flattened to one cell per line, with blank lines between cells:

    一、依法全面履行政府职能                 section (a part of the 2015—2020 outline)
    1.深化行政审批制度改革。                 main measure (repeated after a page break)
    1)全面清理行政审批事项,……。            sub-measure, followed by its cells:
    文良印                                  责任领导 (optional, one or more people)
    区行管办                                牵头单位 (one or more lines)
    区编办等区级有关部门,……                配合单位
    2016年年底前  |  长期 / 坚持            完成时限
    三类  |  一类、三类                     成果形成 (result type), the last column

Cells may be missing (vertically merged in the original table), and a long cell may be
wrapped onto two lines. Each sub-measure becomes one record; its ``text`` is the raw slice
``[start, end)`` with layout whitespace removed, so it can be labelled like a sentence.

Run ``python -m training.annex`` to (re)write ``data/labels/003_annex.jsonl``; categories
already in that file are kept (matched by sub-measure number). In that file a sub-measure
whose text also has a manual label elsewhere (the report body repeats many of them word for
word) takes the manual area, since manual labels are the truth and the label loader rejects
a sentence labelled two ways.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from fazhi.labels import EVALUATION_SOURCE, label_files
from fazhi.paths import LABELS_DIR, REPORTS_DIR
from fazhi.splitter import clean_text
from fazhi.taxonomy import load_taxonomy
from fazhi.tokenizer import normalize

DOC_ID = "003"
DEFAULT_DOC = REPORTS_DIR / "003_0a28174be0e00f4e.txt"
DEFAULT_OUT = LABELS_DIR / "003_annex.jsonl"
SOURCE = "plan-annex"
EXPECTED_SUB_MEASURES = 174

# The annex starts at a line holding only "附件:" (the body mentions "附件:永川区…" inline).
_ANNEX_START = re.compile(r"^[^\S\n]*附件[:：][^\S\n]*$", re.M)
_SECTION = re.compile(r"^[一二三四五六七八九十]+、")
_MEASURE = re.compile(r"^(\d+)[.．]")
_SUB_MEASURE = re.compile(r"^(\d+)[)）]")
# 完成时限: "2016年年底前", or "长期" followed by "坚持" on the next line (or "长期坚持").
_DEADLINE = re.compile(r"^(?:\d{4}年\S*前|长期(?:坚持)?)$")
_DEADLINE_TAIL = "坚持"
# 成果形成: "一类", "一类、三类", … optionally followed by a note in brackets.
_RESULT = re.compile(r"^[一二三]类(?:、[一二三]类)*")
_RESULT_DIGITS = {"一": 1, "二": 2, "三": 3}
# A sub-measure whose text was wrapped continues on lines that end like a sentence
# (cells never do).
_SENTENCE_END = ("。", "！", "？", "；", ";")
# 责任领导 are people: a short name that is not a unit such as 区编办 or 区纪委.
_PERSON = re.compile(r"^[\u4e00-\u9fff]{2,3}$")
_UNIT_START = ("区", "各")
_UNIT_END = tuple("办局委部院会室处所校门位行府")


@dataclass
class _Line:
    text: str  # stripped content
    start: int  # offset of ``text`` in the document


@dataclass
class _Row:
    """One sub-measure being read: its text line(s) and the cells that follow."""

    number: int
    measure: int
    section: str
    text_start: int
    text_end: int
    cell_lines: list[str] = field(default_factory=list)  # 责任领导 / 牵头单位 / 配合单位
    deadline: str | None = None
    result_type: list[int] = field(default_factory=list)
    closed: bool = False  # the result-type cell, the last column, has been read

    def add(self, line: _Line) -> None:
        """Assign a line that follows the sub-measure text to its cell."""
        text = line.text
        result = _RESULT.match(text)
        if self.deadline is None and not self.cell_lines and text.endswith(_SENTENCE_END):
            self.text_end = line.start + len(text)  # the sub-measure text was wrapped
        elif self.deadline == "长期" and text == _DEADLINE_TAIL:
            self.deadline += text
        elif result:
            # A note may follow the types, e.g. "一类(……于2016年底前完成)"; it is not kept.
            self.result_type = [_RESULT_DIGITS[ch] for ch in re.findall(r"([一二三])类", result.group())]
            self.closed = True
        elif _DEADLINE.match(text) and self.deadline is None:
            self.deadline = text
        elif self.deadline is None:
            self.cell_lines.append(text)
        else:
            raise ValueError(f"annex: unexpected cell {text!r} after the deadline of sub-measure {self.number}")


def _lines(text: str, start: int) -> list[_Line]:
    """The non-blank lines of ``text`` from offset ``start``, stripped, with their offsets."""
    lines = []
    for match in re.finditer(r"[^\n]+", text[start:]):
        raw = match.group()
        stripped = raw.strip()
        if stripped:
            lines.append(_Line(stripped, start + match.start() + raw.index(stripped)))
    return lines


def _join_wrapped(cell_lines: list[str]) -> list[str]:
    """Rejoin unit cells that the flattening wrapped onto two lines.

    Seen in the annex: "各决策承办" + "部门", "区纪委" + "(区监察局)",
    "区综治领导小组成员单位" + "及相关单位", "…、区法院、" + "区检察院".
    """
    cells: list[str] = []
    for line in cell_lines:
        continues = cells and (
            cells[-1].endswith(("、", ",", "，"))
            or line.startswith(("(", "（", "及"))
            or line in ("部门", "单位")
        )
        if continues:
            cells[-1] += line
        else:
            cells.append(line)
    return cells


def _is_person(cell: str) -> bool:
    return bool(_PERSON.match(cell)) and not cell.startswith(_UNIT_START) and not cell.endswith(_UNIT_END)


def _split_units(cell_lines: list[str]) -> tuple[list[str], str | None, str | None]:
    """(责任领导, 牵头单位, 配合单位) from the cell lines between the text and the deadline.

    Leaders come first; the last unit cell is 配合单位 and any before it are 牵头单位
    (sub-measure 163 has two leaders and two lead units). A row with a single unit cell
    is read as having a lead unit only.
    """
    cells = _join_wrapped(cell_lines)
    leaders = []
    while cells and _is_person(cells[0]):
        leaders.append(cells.pop(0))
    if len(cells) < 2:
        return leaders, (cells[0] if cells else None), None
    return leaders, "、".join(cells[:-1]), cells[-1]


def _check_numbering(numbers: list[int]) -> None:
    expected = list(range(1, EXPECTED_SUB_MEASURES + 1))
    if numbers == expected:
        return
    missing = sorted(set(expected) - set(numbers))
    duplicated = sorted({n for n in numbers if numbers.count(n) > 1})
    unexpected = sorted(set(numbers) - set(expected))
    out_of_order = [b for a, b in zip(numbers, numbers[1:]) if b != a + 1]
    raise ValueError(
        f"annex: sub-measures must be numbered 1..{EXPECTED_SUB_MEASURES} without gaps; "
        f"found {len(numbers)}, missing {missing[:20]}, duplicated {duplicated[:20]}, "
        f"unexpected {unexpected[:20]}, out of order after {out_of_order[:20]}"
    )


def parse_annex(text: str) -> list[dict]:
    """The sub-measures of the annex table of ``text`` (the full raw document), in order.

    Raises ValueError if there is no annex, a section has no area, the main measures are not
    numbered consecutively, or the sub-measures are not numbered 1..174 without gaps.
    """
    start = _ANNEX_START.search(text)
    if start is None:
        raise ValueError("annex: no line '附件:' in the document")
    taxonomy = load_taxonomy()

    rows: list[_Row] = []
    section: str | None = None
    measure = 0
    stray: _Line | None = None  # a line after a row's last cell: only the page footer may follow
    for line in _lines(text, start.start()):
        current = rows[-1] if rows and not rows[-1].closed else None
        in_table = section is not None
        section_m = _SECTION.match(line.text)
        measure_m = in_table and _MEASURE.match(line.text)
        sub_m = in_table and _SUB_MEASURE.match(line.text)
        if stray is not None and (section_m or measure_m or sub_m):
            raise ValueError(f"annex: unexpected line {stray.text!r} after sub-measure {rows[-1].number}")
        if section_m:
            section = line.text
        elif measure_m:
            number = int(measure_m.group(1))
            if number not in (measure, measure + 1):  # the same number again: a page break
                raise ValueError(f"annex: main measure {number} follows main measure {measure}")
            measure = number
        elif sub_m:
            if measure == 0:
                raise ValueError(f"annex: sub-measure {sub_m.group(1)} before any main measure")
            if rows:
                rows[-1].closed = True  # a row may lack its result-type cell (e.g. 169)
            body = line.text[sub_m.end():]
            body_start = line.start + sub_m.end() + (len(body) - len(body.lstrip()))
            rows.append(_Row(int(sub_m.group(1)), measure, section, body_start, line.start + len(line.text)))
        elif current is not None:
            current.add(line)
        elif rows and stray is None:
            stray = line  # past a row's result cell; fine if it is the footer after the table
        # else: the table's column headers before the first section, or more footer lines

    _check_numbering([row.number for row in rows])
    records = []
    for row in rows:
        try:
            area = taxonomy.area_for_outline_part(row.section)
        except KeyError as exc:
            raise ValueError(f"annex: section {row.section!r} maps to no area") from exc
        leaders, lead_unit, partner_unit = _split_units(row.cell_lines)
        records.append({
            "number": row.number,
            "measure": row.measure,
            "text": clean_text(text[row.text_start:row.text_end]),
            "section": row.section,
            "area": area,
            "result_type": row.result_type,
            "leaders": leaders,
            "lead_unit": lead_unit,
            "partner_unit": partner_unit,
            "deadline": row.deadline,
            "start": row.text_start,
            "end": row.text_end,
        })
    return records


def _read_categories(path: Path) -> dict[int, str | None]:
    """The categories already decided in an output file, by sub-measure number."""
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as fh:
        return {rec["number"]: rec.get("category") for rec in map(json.loads, filter(str.strip, fh))}


def _text_key(text: str) -> str:
    """The text as the label loader compares sentences: NFKC-folded, without whitespace."""
    return "".join(normalize(text).split())


def _label_rows(path: Path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        if path.suffix == ".jsonl":
            yield from (json.loads(line) for line in fh if line.strip())
        else:
            yield from csv.DictReader(fh)


def _manual_labels(out: Path) -> dict[str, tuple[str, str | None]]:
    """(area, category) given by hand in the other label files next to ``out``, by text key."""
    labels: dict[str, tuple[str, str | None]] = {}
    for path in label_files(out.parent):
        if path.resolve() == out.resolve():
            continue
        for row in _label_rows(path):
            if row.get("source") == EVALUATION_SOURCE and row.get("text") and row.get("area"):
                labels.setdefault(_text_key(row["text"]), (row["area"], row.get("category") or None))
    return labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the sub-measures of the 003 annex table as JSONL.")
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC, help="raw document text")
    parser.add_argument("--doc-id", default=DOC_ID)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output JSONL; categories already in it are kept")
    args = parser.parse_args(argv)

    sub_measures = parse_annex(args.doc.read_text(encoding="utf-8"))
    categories = _read_categories(args.out)
    manual = _manual_labels(args.out)
    overridden, disagreements = [], []
    with open(args.out, "w", encoding="utf-8") as fh:
        for sm in sub_measures:
            area, manual_category = manual.get(_text_key(sm["text"]), (sm["area"], None))
            if area != sm["area"]:
                overridden.append(f"{sm['number']}: {sm['area']} -> {area}")
            category = categories.get(sm["number"])
            if manual_category and category and manual_category != category:
                disagreements.append(f"{sm['number']}: {category} here, {manual_category} by hand")
            record = {
                "doc": args.doc_id,
                "number": sm["number"],
                "measure": sm["measure"],
                "text": sm["text"],
                "area": area,
                "category": category,
                "result_type": sm["result_type"],
                "source": SOURCE,
                "start": sm["start"],
                "end": sm["end"],
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    labelled = sum(1 for sm in sub_measures if categories.get(sm["number"]))
    print(f"wrote {len(sub_measures)} sub-measures to {args.out} ({labelled} with a category)")
    if overridden:
        print(f"area taken from a manual label instead of the section: {'; '.join(overridden)}")
    if disagreements:
        print(f"category differs from a manual label (fix one of them): {'; '.join(disagreements)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
