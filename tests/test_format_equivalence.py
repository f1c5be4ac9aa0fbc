"""The same report gives the same score in every format a user may upload."""
from __future__ import annotations

import pytest

from fazhi.model import get_classifier
from fazhi.readers import read_report_bytes
from fazhi.scoring import score_report
from test_readers import PARAGRAPHS, REPORT, make_docx, make_html, make_pdf

FORMATS = {
    "utf-8 .txt": lambda: (REPORT.encode("utf-8"), "r.txt"),
    "gb18030 .txt": lambda: (REPORT.encode("gb18030"), "r.txt"),
    "utf-16 .txt": lambda: (REPORT.encode("utf-16"), "r.txt"),
    ".docx": lambda: (make_docx(PARAGRAPHS), "r.docx"),
    ".pdf": lambda: (make_pdf(PARAGRAPHS), "r.pdf"),
    ".html (gb18030)": lambda: (make_html(PARAGRAPHS, charset="gb18030").encode("gb18030"), "r.html"),
}


def _figures(result: dict) -> dict:
    body = [(s["text"], s["area"], s["category"]) for s in result["sentences"] if s["kind"] == "body"]
    return {"score": result["score"], "coverage": result["coverage"], "specificity": result["specificity"],
            "missing": result["missing_areas"], "body": body}


REFERENCE = _figures(score_report(get_classifier(), REPORT))


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_scores_like_the_plain_text(name):
    data, filename = FORMATS[name]()
    result = score_report(get_classifier(), read_report_bytes(data, filename))
    assert _figures(result) == REFERENCE
    assert REFERENCE["score"] is not None and len(REFERENCE["body"]) > 100
