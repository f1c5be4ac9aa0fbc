"""Labelled sentences: reading and validating ``data/labels/*.jsonl`` and ``*.csv``.

Format (see labeling-guide.md): one unit per line/row with at least `doc`, `text`, `area`,
`category` (empty for headings and for area `none`) and `source`; `kind` defaults to body.
Only files directly in the labels folder are read (working files in subfolders are not).
"""
from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from fazhi.paths import DOCUMENTS_FILE, LABELS_DIR
from fazhi.taxonomy import Taxonomy, load_taxonomy
from fazhi.tokenizer import normalize

EVALUATION_SOURCE = "manual"  # only these labels count as evaluation truth
AUTHORED_SOURCE = "authored"  # sentences the team wrote itself: they train, never evaluate
KINDS = ("heading", "body", "furniture")
TASKS = ("area", "category")


class LabelError(ValueError):
    """A label file is invalid; the message names the file and line."""


@dataclass(frozen=True)
class LabelledUnit:
    doc: str
    text: str
    area: str
    category: str | None
    source: str
    kind: str
    file: str
    line: int
    start: int | None = None  # offset of the unit in its document, where known

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def is_evaluation_truth(self) -> bool:
        return self.source == EVALUATION_SOURCE


def _rows(path: Path):
    if path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise LabelError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
                if not isinstance(row, dict):
                    raise LabelError(f"{path}:{number}: expected a JSON object")
                yield number, row
    else:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for number, row in enumerate(csv.DictReader(fh), 2):
                yield number, row


def _check(row: dict, where: str, taxonomy: Taxonomy) -> LabelledUnit:
    for field in ("doc", "text", "area", "source"):
        if not str(row.get(field) or "").strip():
            raise LabelError(f"{where}: missing field {field!r}")
    area = str(row["area"]).strip()
    kind = str(row.get("kind") or "body").strip()
    category = str(row.get("category") or "").strip() or None
    if area not in taxonomy.area_ids:
        raise LabelError(f"{where}: unknown area {area!r} (expected one of {', '.join(taxonomy.area_ids)})")
    if kind not in KINDS:
        raise LabelError(f"{where}: unknown kind {kind!r}")
    if category is not None and category not in taxonomy.categories:
        raise LabelError(f"{where}: unknown category {category!r} "
                         f"(expected one of {', '.join(taxonomy.categories)})")
    needs_category = kind == "body" and area != taxonomy.off_topic_id
    if needs_category and category is None:
        raise LabelError(f"{where}: body sentence of area {area!r} needs a category")
    if not needs_category and category is not None:
        raise LabelError(f"{where}: a {kind} of area {area!r} takes no category (got {category!r})")
    file, line = where.rsplit(":", 1)
    return LabelledUnit(doc=str(row["doc"]).strip(), text=str(row["text"]).strip(), area=area,
                        category=category, source=str(row["source"]).strip(), kind=kind,
                        file=file, line=int(line),
                        start=int(row["start"]) if str(row.get("start", "")).strip().isdigit() else None)


def normalized_key(text: str) -> str:
    """The identity of a sentence across label files: normalized, without whitespace."""
    return "".join(normalize(text).split())


def label_files(directory: Path = LABELS_DIR) -> list[Path]:
    return sorted(p for p in Path(directory).iterdir()
                  if p.is_file() and p.suffix in (".jsonl", ".csv"))


def load_labels(directory: Path = LABELS_DIR, taxonomy: Taxonomy | None = None,
                files: list[Path] | None = None) -> list[LabelledUnit]:
    """All labelled units (of `files` only, when given), validated; raises LabelError naming
    the file and line."""
    taxonomy = taxonomy or load_taxonomy()
    files = label_files(directory) if files is None else files
    if not files:
        raise LabelError(f"{directory}: no label files (*.jsonl, *.csv)")
    units: list[LabelledUnit] = []
    seen: dict[str, LabelledUnit] = {}
    for path in files:
        for number, row in _rows(path):
            unit = _check(row, f"{path}:{number}", taxonomy)
            earlier = seen.get(normalized_key(unit.text))
            if earlier and (earlier.area, earlier.category) != (unit.area, unit.category):
                raise LabelError(
                    f"{unit.where}: the same sentence is labelled {unit.area}/{unit.category} here "
                    f"and {earlier.area}/{earlier.category} at {earlier.where}: {unit.text[:40]}")
            seen.setdefault(normalized_key(unit.text), unit)
            units.append(unit)
    return units


def labels_hash(directory: Path = LABELS_DIR, documents: Path | None = None) -> str:
    """A hash of the labelled data as committed (file names and contents), and of the document
    list when given (it says which task each document trains)."""
    digest = hashlib.sha256()
    for path in label_files(directory):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    if documents is not None and documents.is_file():
        digest.update(b"documents")
        digest.update(documents.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class SourceDocument:
    """A labelled source document, as data/documents.yaml describes it."""

    doc: str
    kind: str          # annual_report, plan, ...
    title: str
    year: int | None
    file: str | None   # relative to data/reports/
    trains: tuple[str, ...] = TASKS  # the tasks whose models its labels train


def load_documents(path: Path = DOCUMENTS_FILE) -> dict[str, SourceDocument]:
    """The labelled source documents by `doc` id; raises LabelError naming the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        raise LabelError(f"{path}: cannot read the document list ({exc})") from exc
    entries = (data or {}).get("documents") if isinstance(data, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise LabelError(f"{path}: expected a `documents` mapping of doc id to its description")
    documents = {}
    for doc, entry in entries.items():
        if not isinstance(entry, dict) or not str(entry.get("kind") or "").strip():
            raise LabelError(f"{path}: document {doc!r} needs a `kind`")
        trains = entry.get("trains", list(TASKS))
        if not isinstance(trains, list) or not trains or set(trains) - set(TASKS):
            raise LabelError(f"{path}: document {doc!r}: `trains` lists tasks among {', '.join(TASKS)}")
        documents[str(doc)] = SourceDocument(
            doc=str(doc), kind=str(entry["kind"]).strip(), title=str(entry.get("title") or ""),
            year=int(entry["year"]) if entry.get("year") is not None else None,
            file=str(entry["file"]) if entry.get("file") else None,
            trains=tuple(t for t in TASKS if t in trains))
    return documents


def check_documents_listed(units: list[LabelledUnit], documents: dict[str, SourceDocument],
                           source: Path = DOCUMENTS_FILE) -> None:
    """Every labelled unit's document must be described, so evaluation knows its kind."""
    for unit in units:
        if unit.doc not in documents:
            raise LabelError(f"{unit.where}: document {unit.doc!r} is not listed in {source}")
