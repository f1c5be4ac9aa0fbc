"""How the service answers when something goes wrong.

Requests under /api/ (and /healthz) get JSON, ``{"error": {"code": ..., "message": ...}}``;
pages get a Chinese error page. Bad input is always a 4xx: only a fault of the service
itself may answer 500.
"""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, RequestTimeout

from fazhi.limits import LimitError
from fazhi.readers import ReaderError

# ReaderError codes (fazhi.readers) → HTTP status. Unknown codes are bad input too: 400.
READER_STATUS = {
    "empty": 400,
    "binary": 400,
    "corrupt": 400,
    "encoding": 400,
    "no_text": 400,
    "unsupported": 415,
    "too_large": 413,
    "too_deep": 422,
    "too_complex": 422,
}
# LimitError codes (fazhi.limits) → HTTP status: too much text is too large a request; a text
# that splits into too many or too long units is well-formed but cannot be processed.
LIMIT_STATUS = {"too_long": 413, "too_many_units": 422, "unit_too_long": 422}

# Messages for the HTTP errors Flask raises itself (routing, methods, body size).
_HTTP_MESSAGES = {
    400: ("bad_request", "请求无效 / bad request"),
    404: ("not_found", "页面不存在 / not found"),
    405: ("method_not_allowed", "不支持此请求方法 / method not allowed"),
    413: ("too_large", "上传内容过大 / request too large"),
    415: ("unsupported", "不支持的内容类型 / unsupported media type"),
}

_JSON_PREFIXES = ("/api/", "/healthz")


class ServiceError(Exception):
    """A request the service refuses, with the status, a stable code and a message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def from_reader_error(exc: ReaderError) -> ServiceError:
    return ServiceError(READER_STATUS.get(exc.code, 400), exc.code, exc.message)


def upload_limit_message(limit_bytes: int | None) -> str:
    if not limit_bytes:
        return _HTTP_MESSAGES[413][1]
    megabytes = limit_bytes / (1024 * 1024)
    shown = f"{megabytes:.0f}" if megabytes == int(megabytes) else f"{megabytes:.1f}"
    return f"上传内容过大，不能超过 {shown} MB / upload too large: the limit is {shown} MB"


def _wants_json() -> bool:
    return request.path.startswith(_JSON_PREFIXES)


def _respond(status: int, code: str, message: str):
    if _wants_json():
        return jsonify({"error": {"code": code, "message": message}}), status
    return render_template("error.html", status=status, code=code, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        return _respond(exc.status, exc.code, exc.message)

    @app.errorhandler(ReaderError)
    def reader_error(exc: ReaderError):
        error = from_reader_error(exc)
        return _respond(error.status, error.code, error.message)

    @app.errorhandler(LimitError)
    def beyond_limits(exc: LimitError):
        return _respond(LIMIT_STATUS.get(exc.code, 422), exc.code, exc.message)

    @app.errorhandler(CSRFError)
    def forged_form(exc: CSRFError):
        return _respond(400, "csrf", "表单已失效或来源不明（CSRF 校验失败），请刷新页面后重试 / "
                                     f"the form's CSRF token is missing or invalid: {exc.description}")

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge):
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if request.content_length is not None and limit and request.content_length <= limit:
            # Within the size limit: the form has more fields than Flask parses (max_form_parts).
            return _respond(413, "too_many_fields", "表单字段过多 / the form has too many fields")
        return _respond(413, "too_large", upload_limit_message(limit))

    @app.errorhandler(RequestTimeout)
    def too_slow(exc: RequestTimeout):
        body, status = _respond(408, "timeout", exc.description)
        response = app.make_response((body, status))
        # The rest of the body never came: the connection cannot carry another request.
        response.headers["Connection"] = "close"
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code, message = _HTTP_MESSAGES.get(exc.code or 500, ("http_error", exc.description or exc.name))
        return _respond(exc.code or 500, code, message)

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _respond(500, "internal", "服务内部错误 / internal server error")
