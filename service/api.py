"""The JSON API: score a report, classify sentences, describe the model."""
from __future__ import annotations

import json
from functools import lru_cache

from flask import Blueprint, current_app, jsonify, request, url_for

from fazhi.classify import classify_sentences
from fazhi.paths import MODEL_CARD_FILE
from fazhi.storage import StoreError
from service.errors import ServiceError
from service.auth import require_reviewer
from service.openapi import OPENAPI
from service.presentation import figures
from service.review import record_decision
from service.submissions import from_text, from_upload, score_and_store

bp = Blueprint("api", __name__)

# One request may classify this many sentences, each at most this long: enough for the
# longest reports (~1,500 units), small enough to answer within a worker's timeout.
MAX_CLASSIFY_SENTENCES = 5000
MAX_SENTENCE_CHARS = 10_000


def _bad_request(code: str, message: str) -> ServiceError:
    return ServiceError(400, code, message)


def _json_object() -> dict:
    """The request body as a JSON object, or a 400 saying what is wrong with it."""
    if not request.is_json:
        raise _bad_request("invalid_json", "请求体必须是 JSON（Content-Type: application/json）"
                                           " / the body must be JSON")
    try:
        body = request.get_json(silent=True)
    except RecursionError as exc:  # the JSON decoder recurses once per level of nesting
        raise _bad_request("invalid_json", "JSON 嵌套过深 / the JSON nests too deep") from exc
    if not isinstance(body, dict):
        raise _bad_request("invalid_json", "请求体必须是 JSON 对象 / the body must be a JSON object")
    return body


def _optional_string(body: dict, field: str) -> str | None:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise _bad_request("invalid_field", f"字段 {field} 必须是字符串 / field {field!r} must be a string")
    return value


@bp.post("/api/v1/score")
def score():
    upload = request.files.get("file")
    if upload is not None:
        submission = from_upload(upload, request.form.get("title"), source="api-file")
    elif request.is_json:
        body = _json_object()
        text = _optional_string(body, "text")
        if text is None:
            raise _bad_request("missing_field", "缺少字段 text / missing field 'text'")
        submission = from_text(text, _optional_string(body, "title"), source="api-text")
    else:
        raise _bad_request("missing_field", "需要 multipart 字段 file，或 JSON {\"text\": ...} / "
                                            "send a multipart field 'file' or JSON {\"text\": ...}")
    report_id, result = score_and_store(submission)
    return jsonify(_paged_result(report_id, result, page=1))


# Units a JSON result lists at once: the figures and evidence always, the units a page at a
# time (GET /api/v1/reports/{id}?page=N), so an answer stays small for the longest report.
API_UNITS_PAGE_SIZE = 500


def _paged_result(report_id: int, result: dict, page: int) -> dict:
    units = result["sentences"]
    pages = max(1, -(-len(units) // API_UNITS_PAGE_SIZE))
    page = min(max(1, page), pages)
    start = (page - 1) * API_UNITS_PAGE_SIZE
    following = url_for("api.report", report_id=report_id, page=page + 1) if page < pages else None
    return {**result, "sentences": units[start:start + API_UNITS_PAGE_SIZE], "id": report_id,
            "sentences_page": {"page": page, "pages": pages, "page_size": API_UNITS_PAGE_SIZE,
                               "total": len(units), "first_index": start, "next": following}}


def _stored(report_id: int) -> dict:
    record = current_app.extensions["fazhi_store"].get(report_id)
    if record is None:
        raise ServiceError(404, "not_found", "报告不存在 / no such report")
    return record


@bp.get("/api/v1/reports/<int:report_id>")
def report(report_id: int):
    """A stored result, its units a page at a time, with the reviewers' decisions and figures."""
    record = _stored(report_id)
    decisions = current_app.extensions["fazhi_store"].decisions(report_id)
    body = _paged_result(report_id, record["result"], request.args.get("page", 1, type=int))
    body["review"] = {**figures(record["result"], decisions, current_app.extensions["fazhi_taxonomy"]),
                      "decisions": [decisions[i] for i in sorted(decisions)]}
    return jsonify(body)


@bp.post("/api/v1/reports/<int:report_id>/units/<int:unit_index>")
def decide(report_id: int, unit_index: int):
    """A reviewer's decision on one unit (bearer token): {"action": "confirm"} or
    {"area": ..., "category": ...}."""
    reviewer = require_reviewer()
    return jsonify(record_decision(report_id, unit_index, reviewer, _json_object()))


@bp.post("/api/v1/classify")
def classify():
    sentences = _json_object().get("sentences")
    if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
        raise _bad_request("invalid_field", "字段 sentences 必须是字符串列表 / "
                                            "field 'sentences' must be a list of strings")
    if len(sentences) > MAX_CLASSIFY_SENTENCES:
        raise _bad_request("too_many_sentences", f"一次最多 {MAX_CLASSIFY_SENTENCES} 个句子 / at most "
                                                 f"{MAX_CLASSIFY_SENTENCES} sentences per request")
    if any(len(s) > MAX_SENTENCE_CHARS for s in sentences):
        raise _bad_request("sentence_too_long", f"每个句子最多 {MAX_SENTENCE_CHARS} 个字符 / at most "
                                                f"{MAX_SENTENCE_CHARS} characters per sentence")
    try:
        "".join(sentences).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _bad_request("encoding", "句子含有无效字符 / a sentence contains invalid characters") from exc
    model = current_app.extensions["fazhi_model"]
    return jsonify({"results": classify_sentences(model, sentences)})


@lru_cache(maxsize=1)
def _model_card() -> dict:
    try:
        return json.loads(MODEL_CARD_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@bp.get("/api/v1/model")
def model():
    classifier = current_app.extensions["fazhi_model"]
    # The committed card describes the committed model only: used when the versions agree.
    card = _model_card() if _model_card().get("version") == classifier.version else {}
    info = json.loads(json.dumps(classifier.info, default=str))  # numpy scalars and the like
    return jsonify({
        "version": classifier.version,
        "metrics": info.get("metrics") or card.get("metrics") or {},
        "evaluation": card.get("evaluation"),
        "info": info,
        "taxonomy": current_app.extensions["fazhi_taxonomy"].to_dict(),
    })


@bp.get("/healthz")
def healthz():
    """ok with the model version; 503 when the history database cannot be written."""
    version = current_app.extensions["fazhi_model"].version
    try:
        current_app.extensions["fazhi_store"].check_writable()
    except StoreError as exc:
        return jsonify({"status": "unavailable", "model_version": version, "database": str(exc)}), 503
    return jsonify({"status": "ok", "model_version": version, "database": "ok"})


@bp.get("/api/v1/openapi.json")
def openapi():
    return jsonify(OPENAPI)
