"""From an uploaded file or pasted text to a scored report in the history.

Shared by the pages and the JSON API so that both read, check, score and store alike.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask import current_app
from werkzeug.datastructures import FileStorage

from fazhi.readers import ReaderError, read_report_bytes
from fazhi.scoring import score_report
from fazhi.storage import content_hash
from service.errors import ServiceError, from_reader_error

# Longer titles and file names are cut: they are labels, not content.
MAX_TITLE_CHARS = 200
MAX_FILENAME_CHARS = 200


@dataclass(frozen=True)
class Submission:
    text: str
    title: str | None
    filename: str | None
    source: str


def clean_label(value: str | None, limit: int) -> str | None:
    """A title or file name fit to show: one line, no control characters, bounded; None if blank."""
    if not value:
        return None
    value = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") else ch
                    for ch in value)
    value = re.sub(r"\s+", " ", value).strip()[:limit]
    return value or None


def display_filename(filename: str | None) -> str | None:
    """The last component of an uploaded file's name, for display only; never opened.

    werkzeug's secure_filename is no use here: it keeps ASCII only, turning
    "巴南区2020年法治政府建设报告.docx" into "2020.docx".
    """
    if not filename:
        return None
    return clean_label(re.split(r"[\\/]", filename)[-1], MAX_FILENAME_CHARS)


def _checked_text(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates from "\ud800" escapes in JSON
        raise ServiceError(400, "encoding", "文本含有无效字符 / the text contains invalid "
                                            "characters (unpaired surrogates)") from exc
    # Browsers send a textarea's line breaks as CRLF; readers hand the splitter "\n" only.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ServiceError(400, "empty", "文本为空 / the text is empty")
    return text


def from_text(text: str, title: str | None, source: str) -> Submission:
    return Submission(_checked_text(text), clean_label(title, MAX_TITLE_CHARS), None, source)


def from_upload(upload: FileStorage, title: str | None, source: str) -> Submission:
    """Read an uploaded file; its name only chooses the reader (by suffix)."""
    filename = upload.filename or ""
    data = upload.stream.read()
    try:
        text = read_report_bytes(data, filename)
    except ReaderError as exc:
        raise from_reader_error(exc) from exc
    return Submission(_checked_text(text), clean_label(title, MAX_TITLE_CHARS),
                      display_filename(filename), source)


def score_and_store(submission: Submission) -> tuple[int, dict]:
    """Score the text with the app's model, add it to the history; (row id, result)."""
    model = current_app.extensions["fazhi_model"]
    result = score_report(model, submission.text, title=submission.title)
    report_id = current_app.extensions["fazhi_store"].add(
        result, content_hash=content_hash(submission.text),
        title=result["title"] or submission.filename or "", filename=submission.filename,
        source=submission.source)
    return report_id, result
