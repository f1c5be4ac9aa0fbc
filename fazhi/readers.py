"""Turn the files users have (.txt, .docx, .pdf, saved web pages) into report text.

Every reader returns text whose line structure the splitter can use: one paragraph, table
row or PDF line per line (a PDF's wrapped lines rejoined, its vertical gaps as empty lines),
``\\n`` line endings. Plain text is returned unchanged apart from line endings. Every
failure caused by the input is a ``ReaderError`` with a stable ``code`` so callers (CLI,
web API) can answer users without parsing messages.

Libraries: charset-normalizer (encoding detection), python-docx, pypdf, beautifulsoup4 with
lxml. The format is chosen by the file name's suffix only; the name is never opened.
"""
from __future__ import annotations

import codecs
import io
import re
import unicodedata
import zipfile
from collections import Counter
from itertools import pairwise
from pathlib import Path

from fazhi.limits import MAX_HTML_DEPTH, MAX_HTML_ELEMENTS, MAX_TEXT_CHARS, LimitError, check_text

SUPPORTED_SUFFIXES: tuple[str, ...] = (".txt", ".docx", ".pdf", ".html", ".htm")

# A .docx is a zip: refuse archives that would inflate past this many bytes in total, or
# with a member inflating more than MAX_ZIP_RATIO times, before python-docx opens any.
MAX_DOCX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_ZIP_RATIO = 200
# Small members may legitimately have a high ratio (an XML part full of repeated empty
# runs); a ratio only signals a bomb once the member is big enough to hurt.
ZIP_RATIO_MIN_SIZE = 1024 * 1024

# Decoded text with more than this share of control/replacement/unassigned characters
# (whitespace not counted) is not text.
MAX_JUNK_RATIO = 0.2
# Web pages only: the share of characters that may be replaced for invalid bytes.
MAX_REPLACED_SHARE = 0.01
# Encodings the detector may choose between once BOMs and strict UTF-8 have failed. GB18030
# is a superset of GB2312 and GBK and covers what mainland government sites produce; Big5
# covers Hong Kong/Taiwan material.
DETECTABLE_ENCODINGS = ("gb18030", "big5")
# Declared charsets that are subsets of GB18030: decoding with the superset accepts the
# GBK-only characters that pages labelled gb2312 often contain.
_GB_FAMILY = {"gb2312", "gbk", "x-gbk", "cp936", "ms936", "csgb2312", "gb_2312-80", "euc-cn",
              "euccn", "gb18030", "chinese", "iso-ir-58"}


class ReaderError(ValueError):
    """Input that cannot be turned into report text.

    Codes: empty, binary, corrupt, unsupported, encoding, no_text, too_large, not_found.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


def read_report(path) -> str:
    """Read a report file from disk and return its text."""
    path = Path(path)
    if not path.is_file():
        raise ReaderError("not_found", f"文件不存在 / file not found: {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:  # permissions, a file vanishing between the check and the read
        raise ReaderError("not_found", f"无法读取文件 / cannot read {path}: {exc.strerror or exc}") from exc
    return read_report_bytes(data, path.name)


def read_report_bytes(data: bytes, filename: str, *, max_bytes: int | None = None) -> str:
    """Return the text of a report given as bytes; ``filename`` only supplies the suffix."""
    suffix = _suffix(filename)
    if suffix not in SUPPORTED_SUFFIXES:
        shown = suffix or "(none)"
        raise ReaderError("unsupported", f"不支持的文件类型 / unsupported file type {shown}; "
                                         f"supported: {', '.join(SUPPORTED_SUFFIXES)}")
    if max_bytes is not None and len(data) > max_bytes:
        raise ReaderError("too_large", f"文件过大 / file too large: {len(data)} bytes, limit {max_bytes}")
    if not data.strip():
        raise ReaderError("empty", "文件为空 / the file is empty")
    if suffix == ".txt":
        text = _read_txt(data)
    elif suffix == ".docx":
        text = _read_docx(data)
    elif suffix == ".pdf":
        text = _read_pdf(data)
    else:
        text = _read_html(data)
    return _normalise_newlines(text)


def _suffix(filename: str) -> str:
    # Take the last component whatever the separator (a browser may send "C:\\dir\\a.PDF").
    name = re.split(r"[\\/]", str(filename))[-1].strip()
    stem, dot, ext = name.rpartition(".")
    return f".{ext.lower()}" if dot and stem else ""


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# Characters `_junk_ratio` looks at, evenly spread over a longer text: a share needs no more,
# and a 20 MB upload then costs a fraction of a second instead of a list of every character.
JUNK_SAMPLE_CHARS = 400_000
_WHITESPACE = re.compile(r"\s+")


# Ranges wholly assigned and never junk, which make up nearly all of a Chinese report: only
# the characters outside them need a look-up of their Unicode category (one call per
# character cost ~3 ms per 20k-character report, the largest part of a batch process's work).
_PLAIN_CHARS = re.compile("[\u0021-\u007e\u00a0-\u00ff\u2010-\u2027\u2030-\u205e"
                          "\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e]+")


def _junk_ratio(text: str) -> float:
    """Share of non-whitespace characters that no text file would contain."""
    visible = _WHITESPACE.sub("", text[::max(1, len(text) // JUNK_SAMPLE_CHARS)])
    if not visible:
        return 0.0
    rest = _PLAIN_CHARS.sub("", visible)
    junk = sum(1 for ch in rest if ch == "\ufffd" or unicodedata.category(ch) in ("Cc", "Cs", "Cn"))
    return junk / len(visible)


# --- plain text -----------------------------------------------------------------------

# Longest BOMs first: the UTF-32 LE BOM starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM (NUL bytes but no BOM), as charset-normalizer recognises it."""
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["utf_16_le", "utf_16_be"]).best()
    return None if best is None else str(best)


def _canonical_encoding(name: str | None) -> str | None:
    """A declared charset as a Python codec name, widened to GB18030 for the GB family."""
    if not name:
        return None
    name = name.strip().lower()
    if name in _GB_FAMILY:
        return "gb18030"
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    # A page cannot really be UTF-16/32 without NUL bytes or a BOM (handled before); the
    # declaration is wrong (HTML's rule: treat it as UTF-8).
    return None if codec.startswith(("utf-16", "utf-32")) else codec


def _detect(data: bytes) -> str | None:
    """Decode with charset-normalizer, limited to DETECTABLE_ENCODINGS; None if none fits."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data, cp_isolation=list(DETECTABLE_ENCODINGS)))
    if not matches:
        return None
    # Big5 byte pairs are also valid GB18030 and short texts decode cleanly both ways; these
    # are mainland reports, so GB18030 wins unless clearly messier.
    best = min(matches, key=lambda m: m.chaos - (0.05 if m.encoding == "gb18030" else 0.0))
    return str(best)


def _decode(data: bytes, declared: str | None = None, *, lenient: bool = False) -> str:
    """Bytes of a text document to str: BOM, strict UTF-8, declared charset, detection.

    ``lenient`` (web pages) finally accepts the declared charset, or UTF-8/GB18030, with a
    few invalid bytes replaced, as browsers do: saved government pages often hold a stray
    bad byte. Plain text files stay strict.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _checked_text(data.decode(encoding))
            except UnicodeDecodeError as exc:
                raise ReaderError("encoding", f"无法解码 / invalid {encoding} text despite its byte-order mark") from exc
    if data.startswith(_BINARY_SIGNATURES):
        raise ReaderError("binary", _binary_message(data))
    if b"\x00" in data:
        # No text encoding but UTF-16/32 puts NUL bytes in text.
        text = _bomless_utf16(data)
        if text is None:
            raise ReaderError("binary", _binary_message(data))
        return _checked_text(text)
    candidates = ["utf-8"]
    declared = _canonical_encoding(declared)
    if declared:
        candidates.append(declared)
    for encoding in candidates:
        try:
            return _checked_text(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    text = _detect(data)
    if text is None and lenient:
        text = _decode_with_replacement(data, list(dict.fromkeys([declared or "utf-8", "utf-8", "gb18030"])))
    if text is None:
        raise ReaderError("encoding", "无法识别文件编码 / cannot decode the text: not UTF-8, "
                                      "UTF-16, GB18030/GBK or Big5")
    return _checked_text(text)


def _decode_with_replacement(data: bytes, encodings: list[str]) -> str | None:
    """The decoding with the fewest invalid bytes, if they are few enough to be noise."""
    best = min((data.decode(encoding, errors="replace") for encoding in encodings),
               key=lambda text: text.count("\ufffd"))
    return best if best.count("\ufffd") <= MAX_REPLACED_SHARE * len(best) else None


def _checked_text(text: str) -> str:
    if _junk_ratio(text) > MAX_JUNK_RATIO:
        raise ReaderError("binary", "文件不是文本 / the file holds binary data, not text")
    return text


# Files that are not text whatever their name (a renamed PDF may be pure ASCII).
_BINARY_SIGNATURES = (b"%PDF-", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"\xff\xd8\xff",
                      b"GIF8", b"Rar!", b"7z\xbc\xaf")


def _binary_message(data: bytes) -> str:
    # Name the likely real format: users rename files rather than convert them.
    if data.startswith(b"%PDF"):
        return "文件是 PDF 而不是文本 / the file is a PDF, not text: save it as .pdf"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "文件是旧版 Office 文档（如 .doc）/ the file is an old Office document (.doc): save it as .docx"
    if data.startswith(b"PK\x03\x04"):
        return "文件是压缩包（如 .docx）而不是文本 / the file is a zip (e.g. .docx), not text"
    return "文件不是文本 / the file holds binary data, not text"


def _read_txt(data: bytes) -> str:
    text = _decode(data)
    if not text.strip():
        raise ReaderError("empty", "文件为空 / the file is empty")
    return text


# --- .docx ----------------------------------------------------------------------------

def _check_zip(data: bytes) -> None:
    """Refuse zip bombs from the central directory alone: nothing is decompressed."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except Exception as exc:  # BadZipFile, NotImplementedError (odd versions), struct errors...
        raise ReaderError("corrupt", "文件不是有效的 .docx / not a valid .docx (not a zip archive)") from exc
    total = 0
    for info in members:
        total += info.file_size
        if total > MAX_DOCX_UNCOMPRESSED:
            raise ReaderError("too_large", f"文件解压后过大 / the .docx would unpack to more than "
                                           f"{MAX_DOCX_UNCOMPRESSED // (1024 * 1024)} MB")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > ZIP_RATIO_MIN_SIZE and ratio > MAX_ZIP_RATIO:
            raise ReaderError("too_large", f"文件压缩比异常 / the .docx member {info.filename!r} is "
                                           f"compressed {ratio:.0f}:1, refusing a likely zip bomb")


def _docx_lines(container) -> list[str]:
    """Paragraphs and table cells of a document body or table cell, in document order."""
    from docx.table import Table

    lines: list[str] = []
    for block in container.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                seen = set()
                for cell in row.cells:
                    # A merged cell is returned once per grid column it spans.
                    if id(cell._tc) in seen:
                        continue
                    seen.add(id(cell._tc))
                    lines.extend(_docx_lines(cell))
        else:
            lines.append(block.text)
    return lines


def _read_docx(data: bytes) -> str:
    _check_zip(data)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        lines = _docx_lines(document)
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors... on bad parts
        raise ReaderError("corrupt", f"无法读取 .docx / cannot read the .docx: {type(exc).__name__}") from exc
    # Paragraphs apart by an empty line, line breaks inside a paragraph as they are: the
    # layout a plain-text copy of the document has, which the splitter reads (tables' cells).
    text = "\n\n".join(line for line in lines if line.strip())
    if not text.strip():
        raise ReaderError("no_text", "文档中没有文字 / the .docx contains no text")
    return text


# --- .pdf -----------------------------------------------------------------------------

# The splitter reads the line structure (a short numbered line alone is a heading, a few
# characters alone are a scrap, empty lines part a table's cells), and pypdf's own text gives
# one line per drawn line and no empty lines. So the layout is rebuilt from where the lines
# sit: a line that runs to the text's right edge was wrapped and goes on in the next line, a
# gap of k more line pitches between baselines was k empty lines, as a printed text file or a
# Word document with spacing shows them.

# Widths in ems of characters that are not full-width, as proportional fonts draw them (pypdf
# gives no reliable per-character widths for CID fonts); other ASCII is half an em, CJK,
# full-width and other characters one em.
_ASCII_EMS = {**dict.fromkeys(" ,.:;'!|`", 0.25), **dict.fromkeys("()[]{}-/\\\"", 0.35),
              **dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZ%@&#+=<>~mw", 0.65)}
# Estimated widths err by a fraction of an em on lines with many narrow characters.
WRAP_SLACK_EMS = 0.25
# A full line ending a sentence ends its paragraph (see _layout_text).
_PARAGRAPH_END = re.compile(r"[。！？!?][”’」』）)》〉】\s]*$")


def _em_width(text: str) -> float:
    return sum(_ASCII_EMS.get(ch, 0.5) if ch.isascii() else 1.0 for ch in text)


class _PdfLine:
    def __init__(self, text: str, x: float, y: float, em: float) -> None:
        self.text, self.x, self.y, self.em = text, x, y, em
        self.end = x + _em_width(text.rstrip()) * em  # estimated right end of the ink


def _times(m: list[float], n: list[float]) -> list[float]:
    """The product of two PDF transformation matrices [a b c d e f]."""
    return [m[0] * n[0] + m[1] * n[2], m[0] * n[1] + m[1] * n[3], m[2] * n[0] + m[3] * n[2],
            m[2] * n[1] + m[3] * n[3], m[4] * n[0] + m[5] * n[2] + n[4], m[4] * n[1] + m[5] * n[3] + n[5]]


def _pdf_lines(page) -> tuple[str, list[_PdfLine] | None]:
    """A page's text as pypdf extracts it and its lines with their positions; None instead of
    the lines when a line's position is not known (rotated text, a line break pypdf made
    inside one piece of text), so that the page is taken as pypdf gives it."""
    pieces: list[tuple[str, list[float], float]] = []
    text = page.extract_text(visitor_text=lambda t, cm, tm, font, size: pieces.append((t, _times(tm, cm), size)))
    text = text or ""
    if "".join(piece[0] for piece in pieces) != text:
        return text, None
    lines: list[_PdfLine] = []
    current: _PdfLine | None = None
    for piece, (a, b, c, d, x, y), size in pieces:
        for i, part in enumerate(piece.split("\n")):
            if i:
                current = None
            if not part:
                continue
            if current is None:
                if i and not part.strip():
                    continue
                if i or a <= 0 or d <= 0 or abs(b) > 1e-6 or abs(c) > 1e-6:
                    return text, None
                current = _PdfLine(part, x, y, size * d)
                lines.append(current)
            else:
                # A piece on the same line: the line ends where that piece ends.
                if i or a <= 0 or abs(b) > 1e-6:
                    return text, None
                current.text += part
                current.end = max(current.end, x + _em_width(part.rstrip()) * size * a)
    return text, lines


def _mode(values: list[float]) -> float | None:
    counts = Counter(round(v, 1) for v in values)
    return counts.most_common(1)[0][0] if counts else None


def _layout_text(pages: list[tuple[tuple[int, int], str, list[_PdfLine] | None]]) -> str:
    """The text of all pages, with wrapped lines joined and empty lines where the layout has
    vertical gaps."""
    # Pages of one size share a text block: its right edge, its top and bottom lines, its pitch.
    block: dict[tuple[int, int], dict[str, float]] = {}
    for size, _, lines in pages:
        if not lines:
            continue
        gaps = [a.y - b.y for a, b in pairwise(lines)]
        em = _mode([line.em for line in lines]) or 0.0
        seen = block.setdefault(size, {"top": lines[0].y, "bottom": lines[-1].y, "em": em,
                                       "left": lines[0].x, "gaps": [], "ends": []})
        seen["ends"] += [line.end for line in lines]
        seen["left"] = min([seen["left"]] + [line.x for line in lines])
        seen["top"], seen["bottom"] = max(seen["top"], lines[0].y), min(seen["bottom"], lines[-1].y)
        seen["gaps"] += gaps
    for (width, _), seen in block.items():
        # The line pitch is the most common gap between baselines, among gaps of at most two
        # ems: where most lines of a page have an empty line between them (a table's cells),
        # the most common gap of all is two pitches.
        gaps = [g for g in seen["gaps"] if 0 < g <= 2 * seen["em"]] or [g for g in seen["gaps"] if g > 0]
        seen["pitch"] = _mode(gaps) or 0.0
        # The right edge is where most full lines end, not the furthest estimated end, which
        # one line rich in wide letters may overshoot.
        furthest = max(seen["ends"])
        seen["right"] = _mode([end for end in seen["ends"] if end > furthest - seen["em"]]) or furthest
        # Margins are about alike on both sides: in a document of short lines (headings, a
        # notice) the longest line does not reach the edge and none was wrapped.
        if seen["right"] < width - seen["left"] - 2 * seen["em"]:
            seen["right"] = float("inf")
    out: list[str] = []
    previous: _PdfLine | None = None
    previous_size = None
    for size, text, lines in pages:
        if lines is None:
            if out:
                out.append("\n")
            out.append(text)
            previous = None
            continue
        if not lines:
            continue
        seen = block[size]
        for index, line in enumerate(lines):
            if previous is None:
                if out:
                    out.append("\n")
                out.append(line.text)
                previous, previous_size = line, size
                continue
            pitch = seen["pitch"]
            if index == 0:
                # Across a page break: the space left at the foot of the last page and above
                # the first line of this one (a printed text's empty lines at a page break).
                before = block[previous_size]
                gap = (previous.y - before["bottom"]) + (seen["top"] - line.y) + pitch
            else:
                gap = previous.y - line.y
            empty = max(0, round(gap / pitch) - 1) if pitch > 0 and gap > 0 else 0
            # A wrapped line: it runs to the right edge, so that the next line's first
            # character would not have fitted after it.
            room = block[previous_size]["right"] - previous.end
            # A full line that ends a sentence is taken as a paragraph's end: gluing a
            # paragraph to the next could swallow a heading, a break after a sentence costs
            # nothing.
            wrapped = (not empty and room < (_em_width(line.text[:1]) + WRAP_SLACK_EMS) * line.em
                       and not _PARAGRAPH_END.search(previous.text))
            out.append("" if wrapped else "\n" * (empty + 1))
            out.append(line.text)
            previous, previous_size = line, size
    return "".join(out)


def _read_pdf(data: bytes) -> str:
    # pypdf rather than pdfminer.six: on CID-font (STSong) PDFs both extract the Chinese,
    # but pdfminer dropped characters such as "·" and reorders text by layout analysis.
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty user password only to restrict editing.
            try:
                opened = reader.decrypt("")
            except Exception as exc:
                raise ReaderError("unsupported", "PDF 已加密 / the PDF is encrypted and cannot be opened") from exc
            if not opened:
                raise ReaderError("unsupported", "PDF 有密码保护 / the PDF is password-protected")
        pages = []
        extracted = 0
        for number, page in enumerate(reader.pages, 1):
            try:
                box = page.mediabox
                pages.append(((round(float(box.width)), round(float(box.height))), *_pdf_lines(page)))
            except Exception as exc:
                raise ReaderError("corrupt", f"PDF 第 {number} 页无法读取 / cannot read page {number} "
                                             f"of the PDF: {type(exc).__name__}") from exc
            # A PDF of thousands of pages would take minutes to extract: stop as soon as its
            # text is past the bound every report is held to (about 10 ms a page).
            extracted += len(_WHITESPACE.sub("", pages[-1][1]))
            if extracted > MAX_TEXT_CHARS:
                check_text("".join(text for _, text, _ in pages))
    except (ReaderError, LimitError):
        raise
    except Exception as exc:  # pypdf signals broken files with many exception types
        raise ReaderError("corrupt", f"PDF 文件损坏 / the PDF is damaged: {type(exc).__name__}") from exc
    text = _layout_text(pages).replace("\x00", "")
    if not text.strip():
        raise ReaderError("no_text", "PDF 没有文字层（可能是扫描件）/ the PDF has no text layer "
                                     "(scanned?): run OCR first")
    if _junk_ratio(text) > MAX_JUNK_RATIO:
        # Fonts without a Unicode map extract as control or unassigned characters.
        raise ReaderError("no_text", "PDF 的文字无法识别 / the PDF's text layer is unreadable "
                                     "(fonts without Unicode mapping): run OCR first")
    return text


# --- .html / .htm ---------------------------------------------------------------------

# Never text: removed outright.
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "object", "embed",
              "select", "button", "input", "textarea")
# Page furniture by tag or by id/class; kept only when it wraps the article (see below).
_FURNITURE_TAGS = {"nav", "header", "footer", "aside", "form"}
_FURNITURE_MARK = re.compile(
    r"nav|menu|breadcrumb|crumb|footer|header|share|sidebar|toolbar|topbar|location|position"
    r"|dqwz|fenxiang|bdshare|related|xgwz|copyright|banner", re.I)
# Main article containers: TRS CMS (used by most government sites) puts the body in
# #zoom / .TRS_Editor; other sites use content/article/detail names.
_CONTENT_MARK = re.compile(r"content|article|zoom|trs_u?editor|detail|zhengwen|(?:^|[-_ ])main(?:$|[-_ ])", re.I)
# Elements that end a line; table cells are separated by a space within their row's line.
_BLOCK_TAGS = {"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
               "dl", "dt", "dd", "section", "article", "main", "blockquote", "pre", "center",
               "body", "caption", "figure", "figcaption", "address", "hr"}
_CELL_TAGS = {"td", "th"}
# Marks a block element's edge while rendering (a character no page holds).
_BLOCK_BREAK = "\x00"
# HTML collapses ASCII whitespace only: a full-width space (\u3000) or &nbsp; is content.
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
# A container must hold this share of the page's text to count as the article.
MIN_CONTENT_SHARE = 0.3
# Among nested containers, the innermost one holding this share of the largest one's text
# is the article body (e.g. #zoom inside .article with its title and share buttons).
NESTED_CONTENT_SHARE = 0.6


def _marks(tag) -> str:
    classes = tag.get("class") or []
    if isinstance(classes, str):
        classes = [classes]
    return " ".join([str(tag.get("id") or ""), *map(str, classes)])


def _is_content(tag) -> bool:
    return tag.name in ("article", "main") or bool(_CONTENT_MARK.search(_marks(tag)))


def _is_furniture(tag) -> bool:
    return tag.name in _FURNITURE_TAGS or bool(_FURNITURE_MARK.search(_marks(tag)))


def _render(root) -> str:
    """Text of an element, one line per block element, whitespace collapsed as HTML does."""
    from bs4 import NavigableString

    out: list[str] = []
    # An explicit stack instead of recursion: pages nest deeper than Python's recursion limit.
    stack: list[tuple[object, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        if closing:
            out.append(_BLOCK_BREAK)
            continue
        if isinstance(node, NavigableString):
            # Comments, doctypes, CDATA are subclasses: only plain strings are text.
            if type(node) is NavigableString:
                out.append(_HTML_SPACE.sub(" ", str(node)))
            continue
        if node.name == "br":
            out.append("\n")
            continue
        if node.name in _CELL_TAGS:
            out.append(" ")
        if node.name in _BLOCK_TAGS:
            out.append(_BLOCK_BREAK)
            stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.contents))
    # Strip only collapsed ASCII spaces: leading full-width spaces are the indentation the
    # splitter reads, and a line of &nbsp; alone is dropped as empty. Blocks stay apart by one
    # empty line and <br> breaks inside a block stay single, as in a plain-text copy.
    text = "".join(out).replace(_BLOCK_BREAK, "\n\n")
    lines = [line.strip(" ") for line in text.split("\n")]
    kept, blank = [], False
    for line in lines:
        if line.strip():
            if blank and kept:
                kept.append("")
            kept.append(line)
            blank = False
        elif not line:
            blank = True  # an empty line from a block boundary; a line of &nbsp; is no boundary
    return "\n".join(kept)


def _text_length(tag) -> int:
    return sum(1 for ch in tag.get_text() if not ch.isspace())


# Elements that never hold others, and those whose end tag HTML lets a page leave out: they
# do not deepen the nesting that `_markup_depth` counts.
_NON_NESTING_TAGS = frozenset("area base br col embed hr img input link meta param source track wbr "
                              "p li td th tr dt dd option".split())
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*?(/?)>")


def _check_markup(markup: str) -> None:
    """Refuse markup that nests deeper than MAX_HTML_DEPTH or has more than
    MAX_HTML_ELEMENTS elements, counted on the raw text (linear, before any parser builds a
    tree: a parsed tag costs about a kilobyte, and the page clean-up walks nested tags)."""
    depth = elements = 0
    for match in _TAG.finditer(markup):
        closing, name, self_closing = match.groups()
        if not closing:
            elements += 1
            if elements > MAX_HTML_ELEMENTS:
                raise ReaderError("too_complex", f"网页元素过多（超过 {MAX_HTML_ELEMENTS:,} 个），无法读取 / the page has "
                                                 f"more than {MAX_HTML_ELEMENTS:,} elements")
        if name.lower() in _NON_NESTING_TAGS or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        if depth > MAX_HTML_DEPTH:
            raise ReaderError("too_deep", f"网页结构嵌套过深（超过 {MAX_HTML_DEPTH} 层），无法读取 / the page nests its "
                                          f"elements more than {MAX_HTML_DEPTH} deep")


# A title is a heading this short; a longer <h1> is a paragraph styled large.
MAX_TITLE_CHARS = 100


def _document_title(body):
    """The page's first <h1> outside the page furniture, if it reads like a title."""
    for heading in body.find_all("h1"):
        if any(_is_furniture(parent) for parent in heading.parents if getattr(parent, "name", None)):
            continue
        length = _text_length(heading)
        if 0 < length <= MAX_TITLE_CHARS:
            return heading
    return None


def _read_html(data: bytes) -> str:
    from bs4 import BeautifulSoup, Comment
    from bs4.dammit import EncodingDetector

    try:
        declared = EncodingDetector.find_declared_encoding(data, is_html=True)
    except Exception:  # a malformed declaration is no declaration
        declared = None
    markup = _decode(data, declared, lenient=True)
    _check_markup(markup)
    try:
        soup = BeautifulSoup(markup, "lxml")
    except Exception as exc:
        raise ReaderError("corrupt", f"无法解析网页 / cannot parse the HTML: {type(exc).__name__}") from exc
    body = soup.body or soup

    for tag in soup.find_all(_DROP_TAGS):
        if not tag.decomposed:
            tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()

    title = _document_title(body)
    page_length = _text_length(body)
    for tag in body.find_all(True):
        if tag.decomposed or not _is_furniture(tag):
            continue
        # A furniture-looking element that wraps the article stays: sites put the whole
        # page in a <form> (ASP.NET) or a "header-wrap" div. So does one holding most of the
        # page's text: keeping a menu costs less than losing the report.
        if any(_is_content(inner) and not _is_furniture(inner) for inner in tag.find_all(True)):
            continue
        if _text_length(tag) * 2 > page_length:
            continue
        tag.decompose()

    page_length = _text_length(body)
    candidates = [(tag, _text_length(tag)) for tag in body.find_all(_is_content)]
    candidates = [(tag, n) for tag, n in candidates if n and n >= MIN_CONTENT_SHARE * page_length]
    root = body
    if candidates:
        root, largest = max(candidates, key=lambda c: c[1])
        # find_all lists ancestors before descendants: walk down to the innermost container
        # inside the largest that still holds most of its text.
        for tag, n in candidates:
            if n >= NESTED_CONTENT_SHARE * largest and any(p is root for p in tag.parents):
                root = tag
    text = _render(root)
    if not text.strip():
        raise ReaderError("no_text", "网页中没有正文 / the page contains no text")
    # Sites print the report's title as an <h1> above the article container: without it the
    # report's first line would be a section heading, or a site banner would pass for a title.
    if title is not None and not any(parent is root for parent in title.parents) and title is not root:
        text = f"{_render(title)}\n\n{text}"
    return text
