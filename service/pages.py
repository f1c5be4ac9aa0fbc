"""The HTML pages: upload a report, see its result, browse the history."""
from __future__ import annotations

import math

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from service.errors import ServiceError
from service.presentation import VERDICT_LABELS, figures, percent, report_view
from service.submissions import from_text, from_upload, score_and_store

bp = Blueprint("pages", __name__)
bp.add_app_template_filter(percent, "percent")

ACCEPTED_FILES = ".txt,.docx,.pdf,.html,.htm"


def _store():
    return current_app.extensions["fazhi_store"]


@bp.get("/")
def upload_form():
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    limit_mb = limit / (1024 * 1024) if limit else None
    return render_template("index.html", accept=ACCEPTED_FILES, limit_mb=limit_mb)


@bp.post("/")
def upload():
    upload = request.files.get("file")
    title = request.form.get("title")
    text = request.form.get("text", "")
    # A form submitted without choosing a file still sends the field, with no name.
    if upload is not None and upload.filename:
        submission = from_upload(upload, title, source="web-upload")
    elif text.strip():
        submission = from_text(text, title, source="web-paste")
    else:
        raise ServiceError(400, "missing_field", "请选择报告文件或粘贴报告文本 / choose a file or paste the report text")
    report_id, _ = score_and_store(submission)
    return redirect(url_for("pages.report", report_id=report_id), code=303)


@bp.get("/reports/<int:report_id>")
def report(report_id: int):
    record = _store().get(report_id)
    if record is None:
        abort(404)
    view = report_view(record["result"], current_app.extensions["fazhi_taxonomy"],
                       page=request.args.get("page", 1, type=int),
                       page_size=current_app.config["SENTENCES_PAGE_SIZE"])
    decisions = _store().decisions(report_id)
    return render_template("report.html", record=record, result=record["result"], view=view,
                           figures=figures(record["result"], decisions, current_app.extensions["fazhi_taxonomy"]))


@bp.get("/reports")
def history():
    store = _store()
    page_size = current_app.config["HISTORY_PAGE_SIZE"]
    total = store.count()
    pages = max(1, math.ceil(total / page_size))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    rows = store.list(limit=page_size, offset=(page - 1) * page_size)
    return render_template("history.html", rows=rows, page=page, pages=pages, total=total,
                           verdict_labels=VERDICT_LABELS)
