"""The OpenAPI 3.1 description of the JSON API, served at /api/v1/openapi.json.

Written by hand: keep it in step with service/api.py (tests check that every route is here).
"""
from __future__ import annotations


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


_BAD_INPUT = {
    "400": _error("Bad input: missing field, wrong JSON type, or an empty, binary, corrupt or "
                  "text-less file (codes: missing_field, invalid_field, invalid_json, empty, binary, "
                  "corrupt, encoding, no_text)."),
    "413": _error("The upload exceeds the size limit, or a .docx would unpack too large (code too_large)."),
    "415": _error("Unsupported file type (code unsupported)."),
}

_SCORE_RESULT = {
    "type": "object",
    "description": "The result of `fazhi score --json` (fazhi.scoring.score_report) plus the id of "
                   "the history row. Sentence offsets refer to the text with line endings normalised to \\n.",
    "required": ["id", "verdict", "score", "coverage", "specificity", "areas", "sentences",
                 "missing_areas", "slogan_heavy_areas", "warnings", "model_version"],
    "properties": {
        "id": {"type": "integer", "description": "History row; the page is /reports/{id}."},
        "title": {"type": "string"},
        "verdict": {"type": "string", "enum": ["scored", "too_short", "not_a_report"]},
        "score": {"type": ["number", "null"], "minimum": 0, "maximum": 100},
        "coverage": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "specificity": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "areas": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/AreaResult"}},
        "missing_areas": {"type": "array", "items": {"type": "string"}},
        "slogan_heavy_areas": {"type": "array", "items": {"type": "string"}},
        "counts": {"type": "object"},
        "sentences": {"type": "array", "items": {"$ref": "#/components/schemas/Unit"},
                      "description": "One page of the units (see sentences_page)."},
        "sentences_page": {"type": "object", "description": "Which units `sentences` holds: page, pages, "
                           "page_size, total, first_index, and `next`, the URL of the next page or null."},
        "model_version": {"type": "string"},
        "taxonomy_version": {"type": "string"},
        "warnings": {"type": "array", "items": {"type": "string"}},
        "config": {"type": "object"},
    },
}

_CLASSIFIED = {
    "type": "object",
    "required": ["text", "area", "area_scores", "category", "concrete_prob"],
    "properties": {
        "text": {"type": "string"},
        "area": {"type": "string"},
        "area_scores": {"type": "object", "additionalProperties": {"type": "number"}},
        "category": {"type": ["string", "null"], "enum": ["concrete", "slogan", None]},
        "concrete_prob": {"type": ["number", "null"]},
    },
}

OPENAPI: dict = {
    "openapi": "3.1.0",
    "info": {
        "title": "fazhi 法治政府建设报告评分 API",
        "version": "1.0.0",
        "description": "Scores Chinese law-based government (法治政府建设) annual reports: coverage "
                       "of the outline's task areas and the specificity of their sentences.",
    },
    "paths": {
        "/api/v1/score": {
            "post": {
                "summary": "Score a report and add it to the history",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {"schema": {
                            "type": "object", "required": ["file"],
                            "properties": {
                                "file": {"type": "string", "format": "binary",
                                         "description": ".txt, .docx, .pdf, .html or .htm; the name "
                                                        "chooses the reader by its suffix"},
                                "title": {"type": "string"},
                            }}},
                        "application/json": {"schema": {
                            "type": "object", "required": ["text"],
                            "properties": {"text": {"type": "string"}, "title": {"type": "string"}}}},
                    },
                },
                "responses": {
                    "200": {"description": "Scored (or judged too short / not a report: see verdict).",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScoreResult"}}}},
                    **_BAD_INPUT,
                },
            }
        },
        "/api/v1/reports/{report_id}": {
            "get": {
                "summary": "A stored result: figures and evidence, its units a page at a time, and the "
                           "reviewers' decisions with the reviewed figures",
                "parameters": [{"name": "report_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                               {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
                "responses": {
                    "200": {"description": "The result (as from /api/v1/score) with `review`.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScoreResult"}}}},
                    "404": _error("No such report (code not_found)."),
                },
            }
        },
        "/api/v1/reports/{report_id}/units/{unit_index}": {
            "post": {
                "summary": "A reviewer's decision on one unit: confirm the model's labels or correct them",
                "security": [{"reviewerToken": []}],
                "parameters": [{"name": "report_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                               {"name": "unit_index", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 0},
                                "description": "The unit's position in `sentences` (first_index + position on its page)"}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"action": {"type": "string", "enum": ["confirm", "correct"]},
                                   "area": {"type": "string"},
                                   "category": {"type": ["string", "null"], "enum": ["concrete", "slogan", None]}}}}}},
                "responses": {
                    "200": {"description": "The stored decision and the model's and reviewed figures.",
                            "content": {"application/json": {"schema": {"type": "object"}}}},
                    "400": _error("Unknown area, missing or unknown category (code invalid_field)."),
                    "403": _error("No valid reviewer token (code forbidden)."),
                    "404": _error("No such report or unit (code not_found)."),
                },
            }
        },
        "/api/v1/classify": {
            "post": {
                "summary": "Classify sentences as they are (no splitting, no context)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["sentences"],
                    "properties": {"sentences": {"type": "array", "maxItems": 5000,
                                                 "items": {"type": "string", "maxLength": 10000}}}}}}},
                "responses": {
                    "200": {"description": "One result per sentence, in order.",
                            "content": {"application/json": {"schema": {
                                "type": "object", "required": ["results"],
                                "properties": {"results": {"type": "array",
                                                           "items": {"$ref": "#/components/schemas/Classified"}}}}}}},
                    "400": _BAD_INPUT["400"],
                    "413": _BAD_INPUT["413"],
                },
            }
        },
        "/api/v1/model": {
            "get": {
                "summary": "The model in use: version, metrics and taxonomy",
                "responses": {"200": {"description": "Model description.", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["version", "metrics", "taxonomy"],
                    "properties": {"version": {"type": "string"}, "metrics": {"type": "object"},
                                   "evaluation": {"type": ["string", "null"]}, "info": {"type": "object"},
                                   "taxonomy": {"type": "object"}}}}}}},
            }
        },
        "/healthz": {
            "get": {
                "summary": "Liveness check: the model in use and whether the history database can be written",
                "responses": {
                    "200": {"description": "The service is up.", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["status", "model_version", "database"],
                        "properties": {"status": {"const": "ok"}, "model_version": {"type": "string"},
                                       "database": {"const": "ok"}}}}}},
                    "503": {"description": "The history database cannot be written.",
                            "content": {"application/json": {"schema": {
                                "type": "object", "required": ["status", "database"],
                                "properties": {"status": {"const": "unavailable"},
                                               "model_version": {"type": "string"},
                                               "database": {"type": "string"}}}}}}},
            }
        },
        "/api/v1/openapi.json": {
            "get": {"summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                          "content": {"application/json": {"schema": {"type": "object"}}}}}}
        },
    },
    "components": {
        "securitySchemes": {"reviewerToken": {"type": "http", "scheme": "bearer",
                                              "description": "A reviewer's token from `fazhi users token NAME`."}},
        "schemas": {
            "Error": {
                "type": "object", "required": ["error"],
                "properties": {"error": {"type": "object", "required": ["code", "message"],
                                         "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}},
            },
            "ScoreResult": _SCORE_RESULT,
            "Classified": _CLASSIFIED,
            "Unit": {"allOf": [{"$ref": "#/components/schemas/Classified"}, {
                "type": "object", "required": ["kind", "start", "end"],
                "properties": {"kind": {"type": "string", "enum": ["heading", "body", "furniture"]},
                               "start": {"type": "integer"}, "end": {"type": "integer"}}}]},
            "AreaResult": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "task_area": {"type": "boolean"},
                               "sentences": {"type": "integer"}, "concrete": {"type": "number"},
                               "concrete_share": {"type": "number"}, "coverage": {"type": "number"},
                               "evidence": {"type": "array", "items": {"type": "object"}},
                               "slogans": {"type": "array", "items": {"type": "object"}}},
            },
        }
    },
}
