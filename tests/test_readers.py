"""Readers: one real report saved in every supported format must give the same sentences.

Fixtures are built in tmp_path from the text of a real report (data/reports/001_*.txt), so
the tests exercise the same libraries users' files go through. Bad input must always end
in a ReaderError with a stable code.
"""
from __future__ import annotations

import html
import io
import random
import re
import zipfile

import pytest

from fazhi import readers
from fazhi.paths import REPORTS_DIR
from fazhi.readers import SUPPORTED_SUFFIXES, ReaderError, read_report, read_report_bytes
from fazhi.splitter import split_units

REPORT = (REPORTS_DIR / "001_4bbaf42a68c37ea5.txt").read_text(encoding="utf-8")
PARAGRAPHS = [line for line in REPORT.split("\n") if line.strip()]


def paragraphs(text: str) -> list[str]:
    """A read text's lines without the empty lines that keep paragraphs apart."""
    return [line for line in text.split("\n") if line]


def body(text: str) -> list[str]:
    return [u.text for u in split_units(text) if u.kind == "body"]


REFERENCE = body(REPORT)


def test_reference_is_substantial():
    # Guards the equivalence tests below against comparing two empty lists.
    assert len(REFERENCE) > 100
    assert "2020年配备行政执法车辆300余台,治安巡逻车60辆。" in REFERENCE


# --- builders -------------------------------------------------------------------------

def make_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    import docx

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
        document.add_paragraph("表后段落。")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _pdf_of_lines(lines: list[str]) -> bytes:
    """Each line drawn at one pitch (an empty one left empty), wrapped at the margin only when
    wider than the text width; CID font STSong-Light, A4, new pages as needed."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    font, size = "STSong-Light", 11
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    width, height = A4
    y = height - 72

    def draw(line: str) -> None:
        nonlocal y
        if line:
            pdf.setFont(font, size)
            pdf.drawString(72, y, line)
        y -= size * 1.6
        if y < 72:
            pdf.showPage()
            y = height - 72

    for text_line in lines:
        line = ""
        for ch in text_line:
            if line and pdfmetrics.stringWidth(line + ch, font, size) > width - 144:
                draw(line)
                line = ""
            line += ch
        draw(line)
    pdf.save()
    return buf.getvalue()


def make_pdf(paragraphs: list[str]) -> bytes:
    """A PDF with a real text layer: each paragraph one run of lines wrapped at the margin."""
    return _pdf_of_lines(paragraphs)


def make_printed_pdf(text: str) -> bytes:
    """A plain-text file printed to PDF: each line of the text is a line on the page (wrapped
    at the margin only when wider than the page), an empty line is an empty line on the page."""
    return _pdf_of_lines(text.split("\n"))


def make_blank_pdf() -> bytes:
    """A PDF with drawings but no text: what a scan without OCR looks like to a reader."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    pdf.rect(100, 100, 300, 500, fill=1)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def make_html(paragraphs: list[str], charset: str = "utf-8") -> str:
    """A government-style page: menus, breadcrumb, share buttons, footer around #zoom."""
    title, rest = paragraphs[0], paragraphs[1:]
    # A paragraph's own line breaks become <br>, as a page made from the text would show them.
    article = "\n".join(f"<p>{html.escape(p).replace(chr(10), '<br>' + chr(10))}</p>" for p in rest)
    return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>{html.escape(title)}_巴南区人民政府</title>
<style>p {{ text-indent: 2em; }} .nav li {{ float: left; }}</style>
<script>var msg = "这段脚本里的句子不应出现。"; document.write(msg);</script>
</head><body>
<div class="header"><img src="logo.png"><div class="topbar">无障碍浏览。长者模式。</div></div>
<ul class="nav-menu"><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li>
<li><a href="/hdjl/">互动交流。</a></li></ul>
<div class="crumbs">当前位置：<a href="/">首页</a> &gt; 政务公开 &gt; 法治政府建设年度报告</div>
<div class="main-wrap"><div class="sidebar"><h3>相关链接</h3><ul><li>重庆市政府网站。</li></ul></div>
<div class="article">
<h1>{html.escape(title).replace(chr(10), "<br>" + chr(10))}</h1>
<div class="info">发布日期：2021-01-11  来源：巴南区司法局  字号：【大 中 小】</div>
<div id="zoom" class="TRS_Editor">
{article}
</div>
<div class="bdsharebuttonbox share">分享到：微信。微博。</div>
</div></div>
<footer><p>主办单位：重庆市巴南区人民政府办公室。</p><p>网站标识码5001130001。</p></footer>
<noscript>请开启浏览器的脚本功能。</noscript>
<script>console.log("统计代码。");</script>
</body></html>"""


def read(tmp_path, name: str, data: bytes) -> str:
    """Write the fixture and read it back through the public path-based API."""
    path = tmp_path / name
    path.write_bytes(data)
    return read_report(path)


# --- equivalence across formats ------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16", "utf-16-le-bom", "utf-16-be-bom"])
def test_txt_encodings_give_the_same_text(tmp_path, encoding):
    if encoding == "utf-16-le-bom":
        data = b"\xff\xfe" + REPORT.encode("utf-16-le")
    elif encoding == "utf-16-be-bom":
        data = b"\xfe\xff" + REPORT.encode("utf-16-be")
    else:
        data = REPORT.encode(encoding)
    text = read(tmp_path, "report.txt", data)
    # Plain text comes back unchanged (BOM removed): the splitter relies on its lines.
    assert text == REPORT
    assert body(text) == REFERENCE


def test_txt_windows_line_endings_are_normalised(tmp_path):
    data = REPORT.replace("\n", "\r\n").encode("gb18030")
    text = read(tmp_path, "REPORT.TXT", data)
    assert "\r" not in text
    assert text == REPORT
    assert body(text) == REFERENCE


def test_txt_utf16_without_bom(tmp_path):
    assert read(tmp_path, "report.txt", REPORT.encode("utf-16-le")) == REPORT
    assert read(tmp_path, "report.txt", REPORT.encode("utf-16-be")) == REPORT


def test_txt_short_gbk_is_read_as_chinese_not_big5():
    # Two GBK characters also decode cleanly as Big5; mainland reports must win.
    assert read_report_bytes("报告".encode("gbk"), "a.txt") == "报告"
    assert read_report_bytes("法治政府建设年度报告。".encode("gb2312"), "a.txt") == "法治政府建设年度报告。"


def test_txt_big5_is_detected():
    text = "法治政府建設年度報告，依法行政，嚴格規範公正文明執法。"
    assert read_report_bytes(text.encode("big5"), "a.txt") == text


def test_docx_gives_the_same_sentences(tmp_path):
    text = read(tmp_path, "report.docx", make_docx(PARAGRAPHS))
    assert paragraphs(text) == PARAGRAPHS
    assert body(text) == REFERENCE


def test_docx_tables_come_row_by_row_in_document_order():
    table = [["序号", "任务", "责任单位"], ["1", "完善规范性文件监督管理机制。", "区司法局"]]
    data = make_docx(["表前段落。"], table)
    assert paragraphs(read_report_bytes(data, "t.docx")) == [
        "表前段落。", "序号", "任务", "责任单位", "1", "完善规范性文件监督管理机制。", "区司法局", "表后段落。"]


def test_docx_merged_cells_are_read_once():
    import docx

    document = docx.Document()
    grid = document.add_table(rows=2, cols=3)
    grid.cell(0, 0).merge(grid.cell(0, 2)).text = "合并的标题行"
    for c, value in enumerate(["甲", "乙", "丙"]):
        grid.cell(1, c).text = value
    buf = io.BytesIO()
    document.save(buf)
    assert paragraphs(read_report_bytes(buf.getvalue(), "t.docx")) == ["合并的标题行", "甲", "乙", "丙"]


def test_pdf_gives_the_same_text_and_sentences(tmp_path):
    text = read(tmp_path, "report.pdf", make_pdf(PARAGRAPHS))
    # The Chinese text layer comes back character for character (CID font, no font file).
    assert re.sub(r"\s", "", text) == re.sub(r"\s", "", REPORT)
    # The PDF wraps paragraphs into lines, as any real PDF does; the splitter rejoins them
    # (also inside numbers, "设立3\n51个", and before a wrapped "…报告如下:").
    assert body(text) == REFERENCE


def test_pdf_pages_come_in_order():
    data = make_pdf(["第一页的内容。"] * 40 + ["最后一页的内容。"])
    text = read_report_bytes(data, "r.pdf")
    assert text.index("第一页的内容。") < text.index("最后一页的内容。")
    assert text.count("第一页的内容。") == 40


def test_printed_text_reads_back_line_for_line():
    # A text file printed to PDF: its wrapped lines are rejoined and its empty lines come back
    # from the gaps between baselines, also where they fall at a page's foot or head.
    from pypdf import PdfReader

    units = []
    for n in range(1, 16):
        units += [f"{n}. 加强行政执法监督", "", "区司法局", "", "2021年底前", "",
                  f"第{n}项：2020 年完成规范性文件备案审查 {n * 37} 件，" + "依法行政" * (n % 4 * 7 + 3) + "。", ""]
    text = "\n".join(units[:-1])
    data = make_printed_pdf(text)
    assert len(PdfReader(io.BytesIO(data)).pages) == 4
    assert read_report_bytes(data, "r.pdf") == text


def test_html_gives_the_same_sentences(tmp_path):
    text = read(tmp_path, "report.html", make_html(PARAGRAPHS).encode("utf-8"))
    assert body(text) == REFERENCE
    # Navigation, breadcrumbs, sharing, footer, scripts and styles are gone.
    for junk in ("脚本", "无障碍", "互动交流", "当前位置", "相关链接", "分享到", "主办单位", "统计代码", "text-indent", "开启浏览器"):
        assert junk not in text
    # One line per paragraph, the page's <h1> (outside the article) first, as the document's title.
    assert paragraphs(text) == PARAGRAPHS


def test_html_gbk_page_declared_gb2312(tmp_path):
    # Pages labelled gb2312 often hold GBK/GB18030-only characters (here U+2002 spaces).
    data = make_html(PARAGRAPHS, charset="gb2312").encode("gb18030")
    text = read(tmp_path, "report.htm", data)
    assert body(text) == REFERENCE


def test_html_gbk_page_without_declaration_is_detected():
    page = "<html><body><div class='content'>" + "".join(f"<p>{html.escape(p)}</p>" for p in PARAGRAPHS) + "</div></body></html>"
    text = read_report_bytes(page.encode("gb18030"), "r.HTM")
    assert body(text) == REFERENCE


def test_html_block_elements_make_lines():
    page = ("<html><body><p>第一段\n  继续。</p><div>甲<br>乙<p>丙</p>丁</div>"
            "<table><tr><td>单位</td><td>任务</td></tr><tr><td>区司法局</td><td>普法</td></tr></table>"
            "<ul><li>一</li><li>二</li></ul><p>&nbsp;</p><p>\u3000\u3000缩进的段落。</p></body></html>")
    text = read_report_bytes(page.encode("utf-8"), "a.html")
    # Source newlines inside a paragraph are HTML whitespace, not line breaks; a full-width
    # indentation is content and stays.
    assert paragraphs(text) == ["第一段 继续。", "甲", "乙", "丙", "丁", "单位 任务", "区司法局 普法",
                                "一", "二", "\u3000\u3000缩进的段落。"]


def test_html_page_wrapped_in_a_form_keeps_its_text():
    # ASP.NET sites put the whole page in one <form>.
    page = ("<html><body><form id='form1'><div id='navbar'>首页 机构</div>"
            + "".join(f"<p>{html.escape(p)}</p>" for p in PARAGRAPHS[5:]) + "</form></body></html>")
    text = read_report_bytes(page.encode("utf-8"), "a.html")
    assert "首页 机构" not in text
    assert body(text) == body("\n".join(PARAGRAPHS[5:]))
    assert len(body(text)) > 100


# --- bad input ------------------------------------------------------------------------

def code_of(data: bytes, name: str, **kwargs) -> str:
    with pytest.raises(ReaderError) as info:
        read_report_bytes(data, name, **kwargs)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.message and str(error) == error.message and "\n" not in error.message
    return error.code


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_empty_file(suffix):
    assert code_of(b"", "a" + suffix) == "empty"


@pytest.mark.parametrize("data", [b"   \n\t\r\n  ", "\u3000\u3000\n\u3000".encode("utf-8"),
                                  "  \n ".encode("utf-16")])
def test_whitespace_only_txt(data):
    assert code_of(data, "a.txt") == "empty"


def test_binary_garbage_txt():
    garbage = random.Random(0).randbytes(4096)
    assert code_of(garbage, "a.txt") == "binary"
    # No NUL bytes, valid ASCII, but all control characters.
    assert code_of(bytes(range(1, 9)) * 200, "a.txt") == "binary"


def test_renamed_pdf_is_binary_with_a_helpful_message():
    with pytest.raises(ReaderError) as info:
        read_report_bytes(make_pdf(["内容。"]), "report.txt")
    assert info.value.code == "binary" and "PDF" in info.value.message


def test_undecodable_txt():
    assert code_of(bytes(range(0x80, 0x100)) * 10, "a.txt") == "encoding"
    # GB18030 text with a stray Latin-1 byte is neither UTF-8 nor GB18030.
    assert code_of(REPORT[:300].encode("gb18030") + "ñ".encode("latin-1"), "a.txt") == "encoding"
    # A BOM that lies.
    assert code_of(b"\xef\xbb\xbf" + "报告".encode("gbk"), "a.txt") == "encoding"


def test_random_bytes_docx():
    assert code_of(random.Random(1).randbytes(2048), "a.docx") == "corrupt"


def test_zip_that_is_not_a_docx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("readme.txt", "不是 Word 文档。")
    assert code_of(buf.getvalue(), "a.docx") == "corrupt"


def test_truncated_docx():
    data = make_docx(PARAGRAPHS)
    assert code_of(data[: len(data) // 2], "a.docx") == "corrupt"


def zip_with_member(size_mb: int, level: int = 6) -> bytes:
    """A docx-shaped zip whose document.xml is size_mb MiB of one byte, streamed in chunks."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(size_mb):
                member.write(chunk)
    return buf.getvalue()


def test_zip_bomb_docx_is_refused_without_inflating(tmp_path):
    data = zip_with_member(200)  # 200 MiB inflating from about 200 KB
    assert len(data) < 1_000_000
    with pytest.raises(ReaderError) as info:
        read(tmp_path, "bomb.docx", data)
    assert info.value.code == "too_large"


def test_extreme_ratio_member_is_refused_below_the_size_limit():
    data = zip_with_member(20)  # 20 MiB: under the total limit, ratio about 1000:1
    assert code_of(data, "a.docx") == "too_large"


def test_total_uncompressed_size_limit(monkeypatch):
    data = make_docx(PARAGRAPHS)
    assert read_report_bytes(data, "a.docx")
    monkeypatch.setattr(readers, "MAX_DOCX_UNCOMPRESSED", 10_000)
    assert code_of(data, "a.docx") == "too_large"


def test_docx_without_text():
    assert code_of(make_docx([""]), "a.docx") == "no_text"


def test_pdf_without_text_layer():
    assert code_of(make_blank_pdf(), "scan.pdf") == "no_text"


@pytest.mark.parametrize("data", [b"%PDF-1.4\n%%garbage that is no pdf at all", b"not a pdf",
                                  random.Random(2).randbytes(3000)])
def test_broken_pdf(data):
    assert code_of(data, "a.pdf") == "corrupt"


def test_html_without_text():
    page = b"<html><head><script>var a = 1;</script></head><body><div>&nbsp;</div><img src='a.png'></body></html>"
    assert code_of(page, "a.html") == "no_text"


@pytest.mark.parametrize("name", ["report.doc", "report.exe", "report", ".txt", "report.txt.zip", "报告.rtf"])
def test_unknown_suffix(name):
    assert code_of(REPORT.encode("utf-8"), name) == "unsupported"


def test_too_large_input():
    data = REPORT.encode("utf-8")
    assert code_of(data, "a.txt", max_bytes=len(data) - 1) == "too_large"
    assert read_report_bytes(data, "a.txt", max_bytes=len(data)) == REPORT


def test_filename_is_only_used_for_its_suffix(tmp_path):
    data = "法治。".encode("utf-8")
    assert read_report_bytes(data, "../../etc/passwd.TXT") == "法治。"
    assert read_report_bytes(data, "C:\\Users\\me\\报告.final\\a.txt") == "法治。"


def test_read_report_missing_file(tmp_path):
    with pytest.raises(ReaderError) as info:
        read_report(tmp_path / "missing.txt")
    assert info.value.code == "not_found"
    with pytest.raises(ReaderError) as info:
        read_report(tmp_path)  # a directory is not a report
    assert info.value.code == "not_found"


def test_reader_error_shape():
    error = ReaderError("empty", "文件为空")
    assert (error.code, error.message, str(error)) == ("empty", "文件为空", "文件为空")
    assert isinstance(error, ValueError)


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_fuzzed_input_only_raises_reader_errors(suffix):
    rng = random.Random(suffix)
    samples = [make_docx(["段落。"]), make_pdf(["段落。"]), "<p>段落。</p>".encode("utf-8")]
    for sample in samples:
        for _ in range(15):
            data = bytearray(sample)
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            try:
                read_report_bytes(bytes(data), "a" + suffix)
            except ReaderError:
                pass


ARTICLE = "".join(f"<p>{html.escape(p)}</p>" for p in PARAGRAPHS[5:15])


@pytest.mark.parametrize("page", [
    # No recognisable container: the body, less its menus and footer.
    f"<body><div class='top-menu'>首页 政务公开</div>{ARTICLE}<div id='footer'>版权所有</div></body>",
    # An article container whose class also names sharing: it holds the page, so it stays.
    f"<body><ul class='nav'><li>首页</li></ul><div class='article-content share-enabled'>{ARTICLE}</div>"
    "<div class='share'>分享到</div></body>",
    # A #content wrapper around menus, the text and a previous/next bar.
    f"<body><div id='content'><div class='nav'>菜单一 菜单二</div><div class='text'>{ARTICLE}"
    "<div class='pages-nav'>上一篇：通知</div></div><div class='footer'>主办单位</div></div></body>",
])
def test_html_layouts(page):
    text = read_report_bytes(f"<html>{page}</html>".encode("utf-8"), "a.html")
    assert paragraphs(text) == PARAGRAPHS[5:15]


def test_html_title_is_the_pages_h1_not_a_banner_or_a_section_heading():
    from fazhi.model import get_classifier
    from fazhi.scoring import score_report

    page = ("<html><body><div class='banner'><h2>大连旅顺口-- Dalian Lushunkou</h2></div>"
            "<div class='top'>首页</div><h1>旅顺口区2023年法治政府建设情况报告</h1>"
            "<div class='TRS_Editor'><p>一、主要工作</p>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS[6:40])
            + "</div></body></html>")
    text = read_report_bytes(page.encode("utf-8"), "a.html")
    assert paragraphs(text)[:2] == ["旅顺口区2023年法治政府建设情况报告", "一、主要工作"]
    assert score_report(get_classifier(), text)["title"] == "旅顺口区2023年法治政府建设情况报告"
