"""The review view of a scored report: confirm or correct each unit's area and category.

GET shows the units (document order or least certain first) with the model's labels and the
decisions in force; POST records one decision. The page works with plain forms and, with its
script, from the keyboard alone (service/static/review.js).
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for

from fazhi.review import review_order, validate_labels
from service.auth import current_reviewer, require_reviewer
from service.errors import ServiceError
from service.presentation import figures, review_rows

bp = Blueprint("review", __name__)

ORDERS = {"document": "文档顺序", "uncertain": "最不确定的优先"}


def _store():
    return current_app.extensions["fazhi_store"]


def _taxonomy():
    return current_app.extensions["fazhi_taxonomy"]


def record_decision(report_id: int, unit_index: int, reviewer: str, fields) -> dict:
    """Validate and store one decision from form or JSON fields: `action` confirm (the model's
    labels) or correct (`area`, `category`). Returns what a script or API client is answered:
    the stored decision and the model's and reviewed figures."""
    record = _store().get(report_id)
    if record is None:
        raise ServiceError(404, "not_found", "报告不存在 / no such report")
    units = record["result"]["sentences"]
    if not 0 <= unit_index < len(units):
        raise ServiceError(404, "not_found", "句子不存在 / no such unit")
    unit = units[unit_index]
    if fields.get("action") == "confirm":
        area, category = unit["area"], unit.get("category")
    else:
        area, category = fields.get("area"), fields.get("category") or None
    try:
        category = validate_labels(unit.get("kind", "body"), str(area), category, _taxonomy())
    except ValueError as exc:
        raise ServiceError(400, "invalid_field", str(exc)) from exc
    decision = _store().add_decision(report_id, unit_index, new_area=str(area), new_category=category,
                                     reviewer=reviewer, record=record)
    return {"decision": decision, "figures": figures(record["result"], _store().decisions(report_id), _taxonomy())}


@bp.get("/reports/<int:report_id>/review")
def review(report_id: int):
    record = _store().get(report_id)
    if record is None:
        abort(404)
    reviewer = current_reviewer()
    if reviewer is None:
        return redirect(url_for("auth.login_form", next=request.full_path.rstrip("?")), code=303)
    order = request.args.get("order", "uncertain")
    order = order if order in ORDERS else "uncertain"
    result = record["result"]
    decisions = _store().decisions(report_id)
    indices = review_order(result["sentences"], decisions, least_certain=order == "uncertain")
    page_size = current_app.config["SENTENCES_PAGE_SIZE"]
    pages = max(1, -(-len(indices) // page_size))
    page = min(max(1, request.args.get("page", 1, type=int)), pages)
    rows = review_rows(result, decisions, _taxonomy(), indices[(page - 1) * page_size:page * page_size])
    return render_template("review.html", record=record, result=result, rows=rows, reviewer=reviewer,
                           order=order, orders=ORDERS, page=page, pages=pages, decided=len(decisions),
                           figures=figures(result, decisions, _taxonomy()), taxonomy=_taxonomy())


@bp.post("/reports/<int:report_id>/review/units/<int:unit_index>")
def decide(report_id: int, unit_index: int):
    reviewer = require_reviewer()
    answer = record_decision(report_id, unit_index, reviewer, request.form)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(answer)
    back = request.form.get("back") or ""
    target = back if back.startswith(f"/reports/{report_id}/review") else url_for("review.review", report_id=report_id)
    return redirect(f"{target}#unit-{unit_index}", code=303)
