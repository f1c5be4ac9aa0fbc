"""The same report gives the same score in every format a user may upload."""
from __future__ import annotations

import pytest

from fazhi.model import get_classifier
from fazhi.readers import read_report_bytes
from fazhi.scoring import score_report
from test_readers import PARAGRAPHS, REPORT, make_docx, make_html, make_pdf, make_printed_pdf

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


# --- every seed report, in every format made from it ------------------------------------

import html as _html  # noqa: E402
import re  # noqa: E402

from fazhi.paths import REPORTS_DIR  # noqa: E402

SEEDS = sorted(REPORTS_DIR.glob("*.txt"))


def _blocks(text: str) -> list[str]:
    """Paragraphs as a plain-text file separates them: by empty lines."""
    return [b for b in re.split(r"\n[ \t]*\n", text) if b.strip()]


def _article_page(blocks: list[str]) -> str:
    """A page made from the text: every paragraph a <p> in the article, its line breaks <br>,
    leading spaces as &nbsp; (HTML would collapse them), with a menu around."""
    def paragraph(block: str) -> str:
        lines = [re.sub(r"^ +", lambda m: "&nbsp;" * len(m.group()), _html.escape(line)) for line in block.split("\n")]
        return "<p>" + "<br>\n".join(lines) + "</p>"
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>报告</title></head><body>"
            "<ul class='nav'><li>首页</li><li>政务公开</li></ul><div id='zoom' class='TRS_Editor'>"
            + "\n".join(paragraph(b) for b in blocks) + "</div><div class='footer'>主办单位：人民政府办公室</div>"
            "</body></html>")


SEED_FORMATS = {
    "gb18030 .txt": lambda text: (text.encode("gb18030"), "r.txt"),
    "utf-16 .txt": lambda text: (text.encode("utf-16"), "r.txt"),
    ".docx": lambda text: (make_docx(_blocks(text)), "r.docx"),
    ".html": lambda text: (_article_page(_blocks(text)).encode("utf-8"), "r.html"),
    # The text file printed: its own lines and empty lines, wrapped only where wider than the page.
    ".pdf": lambda text: (make_printed_pdf(text), "r.pdf"),
}


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name[:3])
@pytest.mark.parametrize("name", SEED_FORMATS)
def test_every_seed_scores_alike_in_every_format(seed, name):
    text = seed.read_text(encoding="utf-8")
    data, filename = SEED_FORMATS[name](text)
    reference = _figures(score_report(get_classifier(), text))
    assert _figures(score_report(get_classifier(), read_report_bytes(data, filename))) == reference
