"""Bounds on one report, the same for every entry point (service, CLI, batch).

A public upload form receives hostile input as a matter of course: a few megabytes of very
short lines used to cost gigabytes of memory, a minute of CPU and a result of hundreds of
megabytes, and a page of deeply nested tags pinned a worker in the HTML parser. These bounds
are generous for real reports (an annual report has 10–40 thousand characters and 100–600
units; the longest seed, a plan with its annex table, 91 thousand and about 900) and refuse
the rest early, with a message that says which bound was hit.
"""
from __future__ import annotations

import re

_WHITESPACE = re.compile(r"\s+")

# Characters of text after reading, not counting whitespace (layout costs little): checked
# before the text is split.
MAX_TEXT_CHARS = 400_000
# Units (headings, sentences, furniture) after splitting: checked before classification.
MAX_UNITS = 4_000
# Characters of one unit: longer is a flattened table or text with its punctuation lost.
MAX_UNIT_CHARS = 6_000
# Nesting and number of HTML elements: checked on the raw markup before it is parsed (a
# government page has a few thousand elements, nested 20–40 deep).
MAX_HTML_DEPTH = 100
MAX_HTML_ELEMENTS = 50_000


class LimitError(ValueError):
    """A report beyond one of the bounds: `code` names the bound, `message` says it in
    Chinese and English."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def check_text(text: str) -> None:
    # Only a text long enough to matter is counted exactly (the count copies it once).
    if len(text) > MAX_TEXT_CHARS and (visible := len(_WHITESPACE.sub("", text))) > MAX_TEXT_CHARS:
        raise LimitError("too_long", f"报告过长：{visible:,} 个字符（不计空白），上限为 {MAX_TEXT_CHARS:,} 个 / the "
                                     f"report has {visible:,} characters besides whitespace; the limit is {MAX_TEXT_CHARS:,}")


def check_units(units) -> None:
    if len(units) > MAX_UNITS:
        raise LimitError("too_many_units", f"报告包含 {len(units):,} 个句子或段落，上限为 {MAX_UNITS:,} 个，"
                                           f"请检查文件是否为法治政府建设报告 / the report splits into {len(units):,} "
                                           f"units; the limit is {MAX_UNITS:,}")
    longest = max((len(u.text) for u in units), default=0)
    if longest > MAX_UNIT_CHARS:
        raise LimitError("unit_too_long", f"报告中有一句长达 {longest:,} 个字符，上限为 {MAX_UNIT_CHARS:,} 个字符"
                                          f"（标点可能丢失）/ one unit has {longest:,} characters; the limit is "
                                          f"{MAX_UNIT_CHARS:,} (punctuation lost?)")
