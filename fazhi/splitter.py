"""Split a raw report into units: headings, body sentences and furniture, with offsets.

Real reports arrive as text extracted from PDFs (sentences broken across lines and pages),
saved web pages (navigation, counters, "扫一扫") and flattened tables. The splitter works on
the original string and never rewrites it: every unit carries ``start``/``end`` character
offsets into the input, and a ``text`` that is the same slice with layout whitespace removed.

Steps: lines → blocks (a block joins lines that continue one another) → sentences.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, asdict

# A sentence ends at these (full- and half-width); semicolons do not end a sentence.
SENTENCE_END = "。！？!?"
# Characters that may close a sentence right after its final punctuation.
TRAILING_CLOSERS = "”’」』）)》〉】"
OPENERS = {"“": "”", "‘": "’", "「": "」", "『": "』", "《": "》", "〈": "〉", "（": "）", "(": ")", "【": "】"}
CLOSERS = {v: k for k, v in OPENERS.items()}
# PDF text mixes widths within one pair ("（2017-2020年)"): either width closes either.
_SAME_BRACKET = {"（": "(", "(": "(", "）": "(", ")": "("}


def _closes(closer: str, opener: str) -> bool:
    if closer in _SAME_BRACKET and opener in _SAME_BRACKET:
        return True
    return CLOSERS.get(closer) == opener
# An unbalanced quote or bracket must not swallow a whole paragraph.
MAX_NESTED_CHARS = 160
# A line with no closing punctuation this short, standing alone, is a heading.
MAX_HEADING_CHARS = 60
# Short unpunctuated lines in a run of at least MIN_CELL_RUN such lines are the cells of a
# flattened table (responsible units, deadlines), not prose.
MAX_CELL_CHARS = 80
MIN_CELL_RUN = 3
# A line this short, unnumbered and unpunctuated, standing alone, is a scrap, not a heading.
MAX_SCRAP_CHARS = 6
# Official document titles end with the document's genre (公文文种).
TITLE_ENDING = re.compile(r"(?:通知|报告|意见|方案|决定|办法|规定|请示|批复|纲要|规划|要点|总结|函)[)）]?$")
# A short line ending with a colon addresses someone ("市政府：") and stands alone.
MAX_SALUTATION_CHARS = 20

_CN_NUM = "一二三四五六七八九十百零〇"
# Numbering styles, most to least prominent; each style plays one role within a document.
MARKER_STYLES = [
    ("cn", re.compile(rf"^[{_CN_NUM}]+\s*[、．.]")),
    ("cn_paren", re.compile(rf"^[（(]\s*[{_CN_NUM}]+\s*[）)]")),
    ("num", re.compile(r"^\d{1,2}\s*[、．.](?!\d)")),
    ("num_paren", re.compile(r"^(?:[（(]\s*\d{1,3}\s*[）)]|\d{1,3}\s*[）)])")),
    ("ordinal", re.compile(rf"^第[{_CN_NUM}]+[，,、是]|^[{_CN_NUM}]是")),
]

FURNITURE_PATTERNS = [re.compile(p) for p in (
    r"扫一扫",
    r"点击数|浏览次数|阅读次数|访问量|阅读量",
    r"^(?:发布|发文|成文|印发)?(?:日期|时间)\s*[:：]",
    r"字号\s*[:：]|字体颜色|背景色|【\s*(?:大|中|小)\s*】",
    r"【\s*(?:打印|关闭|返回|收藏)",
    r"打印本页|关闭窗口|返回顶部|打印文章|分享到",
    r"^全文检索|^您的当前位置|^当前位置\s*[:：]",
    r"^首页\s*(?:>|＞|》|»)|(?:>|＞|»)\s*首页",
    r"^(?:最新|相关)信息\s*$|^上一篇|^下一篇",
    r"^[·•]\s*\S",
    r"签发人\s*[:：]",
    r"^(?:来源|信息来源|作者|责任编辑)\s*[:：]",
    r"^\S{0,12}[〔\[［]\d{4}[〕\]］]\s*\d+\s*号$",  # a document number alone
    r"^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$",  # a date alone
    r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$",
    r"^\d{5,8}$",                            # a date with its separators lost
    r"^(?:附件|附表)\s*[:：]?\s*$",
)]
# Page numbers and page counters: a sentence broken by a page break runs on across them.
PAGE_MARKERS = [re.compile(p) for p in (
    r"^[-－—\s]*\d{1,3}[-－—\s]*$",          # "- 3 -", "12"
    r"^第\s*\d+\s*页(?:\s*共\s*\d+\s*页)?$",
    r"^共\s*\d+\s*页",
)]
# Organisations that sign a report: a short line of one of these next to a date is a signature.
SIGNATURE = re.compile(r"^[\u4e00-\u9fff（）()]{2,30}(?:人民政府|政府|委员会|区委|县委|市委|办公室|办公厅|局|司法局|[委办])$")

_CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef\u2018-\u201d\u2014\u2026"
_SPACE_NEAR_CJK = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")
# A line break between two digits or letters is a PDF wrap inside a number ("3\n51个").
_WRAP_IN_WORD = re.compile(r"(?<=[0-9A-Za-z])[ \t]*\n\s*(?=[0-9A-Za-z])")


@dataclass(frozen=True)
class Unit:
    kind: str  # "heading", "body" or "furniture"
    text: str
    start: int
    end: int

    def to_dict(self) -> dict:
        return asdict(self)


def clean_text(raw: str) -> str:
    """Drop the layout whitespace PDF extraction leaves between CJK characters."""
    text = _WRAP_IN_WORD.sub("", raw.strip())
    text = _SPACE_NEAR_CJK.sub("", text)
    return _SPACES.sub(" ", text)


def _marker_style(line: str) -> str | None:
    for name, pattern in MARKER_STYLES:
        if pattern.match(line):
            return name
    return None


def _ends_sentence(line: str) -> bool:
    stripped = line.rstrip(TRAILING_CLOSERS + " \u3000")
    return bool(stripped) and stripped[-1] in SENTENCE_END + "；;：:"


def _is_page_marker(line: str) -> bool:
    return any(p.search(line) for p in PAGE_MARKERS)


def _is_furniture(line: str) -> bool:
    return _is_page_marker(line) or any(p.search(line) for p in FURNITURE_PATTERNS)


@dataclass
class _Line:
    start: int
    end: int
    text: str  # stripped
    indented: bool = False
    blank_before: bool = False  # an empty line separates it from the line above
    furniture: bool = False
    style: str | None = None

    @property
    def is_salutation(self) -> bool:
        return len(self.text) <= MAX_SALUTATION_CHARS and self.text[-1] in "：:"

    @property
    def is_title(self) -> bool:
        return len(self.text) <= MAX_HEADING_CHARS and bool(TITLE_ENDING.search(self.text))


def _lines(text: str) -> list[_Line]:
    """Non-empty lines with their offsets; whether an empty line precedes each."""
    lines = []
    position, blank_before = 0, False
    for raw in text.split("\n"):
        start, position = position, position + len(raw) + 1
        stripped = raw.strip().strip("\ufeff").strip()
        if not stripped:
            blank_before = True
            continue
        lead = raw.index(stripped)
        indented = lead >= 2 or (lead >= 1 and not raw[:lead].isascii())
        lines.append(_Line(start + lead, start + lead + len(stripped), stripped,
                           indented=indented, blank_before=blank_before))
        blank_before = False
    return lines


def _body_styles(lines: list[_Line]) -> set[str]:
    """Marker styles that open paragraphs (not headings) in this document.

    A style whose lines mostly hold a sentence end is a paragraph style here, so a line of
    that style without closing punctuation was cut by a page break, not a heading.
    """
    seen, with_sentence = Counter(), Counter()
    for line in lines:
        if line.style:
            seen[line.style] += 1
            if any(ch in line.text for ch in SENTENCE_END):
                with_sentence[line.style] += 1
    return {s for s in seen if with_sentence[s] * 2 > seen[s]}


def _mark_furniture(lines: list[_Line]) -> None:
    for line in lines:
        line.furniture = _is_furniture(line.text)
    # A signature: an organisation's name right before a date line or another signature.
    for i in range(len(lines) - 2, -1, -1):
        line = lines[i]
        if not line.furniture and lines[i + 1].furniture and SIGNATURE.match(clean_text(line.text)):
            line.furniture = True
    # Flattened table cells: runs of short lines without sentence ends, numbering or a title,
    # each on a line of its own between empty lines (a paragraph hard-wrapped by a PDF has no
    # empty lines between its lines, so it never looks like a table).
    def is_cell(line: _Line) -> bool:
        return (not line.style and not line.is_title and len(line.text) <= MAX_CELL_CHARS
                and line.blank_before and not any(ch in line.text for ch in SENTENCE_END + "；;：:"))
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and is_cell(lines[j]) and not lines[j].furniture:
            j += 1
        if j - i >= MIN_CELL_RUN:
            for line in lines[i:j]:
                line.furniture = True
        i = max(j, i + 1)
    # A lone scrap of a few characters without numbering or punctuation (a table cell left
    # over from a merged row, "三类") is not a heading: it would open a section of its own.
    for line in lines:
        if (not line.furniture and not line.style and len(line.text) <= MAX_SCRAP_CHARS
                and not any(ch in line.text for ch in SENTENCE_END + "：:")):
            line.furniture = True


def _blocks(lines: list[_Line]) -> list[tuple[str, list[_Line]]]:
    """Group lines into (kind, lines): a paragraph continues until a line ends a sentence.

    A line that does not end a sentence runs on into the next line, unless the next line
    visibly starts something new (numbering, indentation where the document indents
    paragraphs, furniture, a salutation) or the line itself is a heading.
    """
    body_styles = _body_styles(lines)
    indents_paragraphs = any(line.indented for line in lines)
    blocks: list[tuple[str, list[_Line]]] = []
    current: list[_Line] = []

    def inside_broken_paragraph(line: _Line) -> bool:
        """A page number between the halves of a paragraph cut by a page break."""
        return (line.furniture and bool(current) and _is_page_marker(line.text)
                and not _ends_sentence(current[-1].text))

    def starts_block(line: _Line) -> bool:
        if inside_broken_paragraph(line):
            return False
        # A salutation ends a title above it, but a wrapped paragraph runs on into it.
        after_title = bool(current) and len(current) == 1 and len(current[0].text) <= MAX_HEADING_CHARS
        return (line.furniture or line.style is not None or (line.is_salutation and after_title)
                or (indents_paragraphs and line.indented))

    def close(kind: str = "body") -> None:
        nonlocal current
        if current:
            blocks.append((kind, current))
            current = []

    for index, line in enumerate(lines):
        if inside_broken_paragraph(line):
            blocks.append(("page", [line]))  # the paragraph runs on across the page break
            continue
        if line.furniture:
            close()
            blocks.append(("furniture", [line]))
            continue
        if current and starts_block(line):
            close()
        current.append(line)
        if _ends_sentence(line.text):
            close()
            continue
        following = lines[index + 1] if index + 1 < len(lines) else None
        heading_like = (len(clean_text(" ".join(l.text for l in current))) <= MAX_HEADING_CHARS
                        and current[0].style not in body_styles)
        if following is None or starts_block(following):
            # The paragraph cannot continue: what we hold is a heading or an unpunctuated line.
            close("heading" if heading_like else "body")
        elif heading_like and (line.is_title or (current[0].style is not None and len(current) == 1)):
            close("heading")
    close()
    return blocks


def _sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split text[start:end] at sentence ends outside quotes and brackets."""
    spans = []
    stack: list[str] = []
    nested_since = 0
    sentence_start = start
    i = start
    while i < end:
        ch = text[i]
        if ch in OPENERS:
            if not stack:
                nested_since = i
            stack.append(ch)
        elif ch in CLOSERS and stack and _closes(ch, stack[-1]):
            stack.pop()
        elif ch == '"':
            if stack and stack[-1] == '"':
                stack.pop()
            else:
                if not stack:
                    nested_since = i
                stack.append('"')
        if stack and i - nested_since > MAX_NESTED_CHARS:
            stack.clear()  # unbalanced: stop treating the rest as quoted
        if ch in SENTENCE_END:
            j = i + 1
            while j < end and text[j] in SENTENCE_END:
                j += 1
            # Closers right after the end belong to this sentence and may close the quote.
            depth = list(stack)
            while j < end and (text[j] in TRAILING_CLOSERS or text[j] == '"' or text[j] in SENTENCE_END):
                if text[j] not in SENTENCE_END and depth and (text[j] == '"' or _closes(text[j], depth[-1])):
                    depth.pop()
                j += 1
            if not depth:
                spans.append((sentence_start, j))
                stack = []
                sentence_start = j
                i = j
                continue
        i += 1
    if sentence_start < end:
        spans.append((sentence_start, end))
    return spans


def split_units(text: str) -> list[Unit]:
    """Split a raw report into units in document order."""
    lines = _lines(text)
    for line in lines:
        line.style = _marker_style(line.text)
    _mark_furniture(lines)
    blocks = _blocks(lines)
    # Page numbers inside a paragraph are blanked (same length, so offsets hold) and left out.
    pieces, position = [], 0
    for kind, block in blocks:
        if kind == "page":
            line = block[0]
            pieces += [text[position:line.start], " " * (line.end - line.start)]
            position = line.end
    work = "".join(pieces) + text[position:]
    units: list[Unit] = []
    for kind, block in blocks:
        start, end = block[0].start, block[-1].end
        if kind == "page":
            continue
        if kind != "body":
            units.append(Unit(kind, clean_text(work[start:end]), start, end))
            continue
        for s, e in _sentence_spans(work, start, end):
            raw = work[s:e]
            lead = len(raw) - len(raw.lstrip())
            trail = len(raw) - len(raw.rstrip())
            cleaned = clean_text(raw)
            if cleaned and not all(ch in SENTENCE_END + TRAILING_CLOSERS for ch in cleaned):
                units.append(Unit("body", cleaned, s + lead, e - trail))
    return units


def split_sentences(text: str) -> list[str]:
    """Body sentences of a text, cleaned (convenience for callers that need no offsets)."""
    return [u.text for u in split_units(text) if u.kind == "body"]


# Numbering styles whose line opens a section ("（一）抓重点工作，…。"), so that it is context
# for the sentences after it, like a heading.
LEAD_STYLES = ("cn", "cn_paren", "num", "num_paren")


def section_contexts(units: list[Unit]) -> list[str]:
    """For each unit, the outline of the section it sits in: the open headings and numbered lead
    sentences above it, outermost first ("" where there are none). Context for the area model.

    A heading or lead sentence closes the sections at its own level and below, so its context
    is only its parents, never the sibling section it ends. The report's title (an unnumbered
    heading before any body sentence) is no section: the sentences under it alone (the preamble:
    an addressee line, the introduction) have no context, so that an addressee line is not
    averaged into the introduction's area.
    """
    rank = {style: level for level, style in enumerate(LEAD_STYLES)}
    open_sections: list[tuple[int, str]] = []  # (level, text), outermost first
    contexts = []
    title: list[tuple[int, str]] = []  # the open sections while only the title is open
    seen_body = False
    for unit in units:
        if unit.kind == "furniture":
            contexts.append("")
            continue
        style = _marker_style(unit.text)
        if unit.kind == "heading" or style in rank:
            level = rank.get(style, -1)  # an unnumbered heading (a title) opens everything anew
            open_sections = [(l, t) for l, t in open_sections if l < level]
            contexts.append(" ".join(text for _, text in open_sections))
            open_sections.append((level, unit.text))
            if level < 0 and not seen_body and not title:
                title = list(open_sections)
        else:
            seen_body = True
            contexts.append("" if open_sections == title else " ".join(text for _, text in open_sections))
    return contexts
