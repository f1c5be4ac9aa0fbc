"""Reviewers' decisions on a scored report: what they change, where to look first, and how
they become labels.

- `apply_decisions`: the report's units with the reviewer's labels where there are any.
- `reviewed_result`: the report scored again on those units (same `score_sentences`).
- `review_order`: the least certain units first, where an hour of review helps the model most.
- `validate_labels`: a decision's labels checked against the taxonomy, as label files are.
- `export_labels`: every reviewed unit as a label (``source: review``), one file per report.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fazhi.labels import LabelError, label_files, load_labels, normalized_key
from fazhi.model import CONCRETE
from fazhi.scoring import ScoringConfig, score_sentences
from fazhi.storage import ReportStore
from fazhi.taxonomy import Taxonomy, load_taxonomy

REVIEW_SOURCE = "review"  # labels from reviewers' decisions: they train, never evaluate
REVIEW_KIND = "review"    # the kind of a reviewed report in data/documents.yaml
REVIEW_FILE_PREFIX = "review-"


def validate_labels(kind: str, area: str, category: str | None, taxonomy: Taxonomy) -> str | None:
    """The category a unit of this kind and area takes (None where it takes none); raises
    ValueError with a reason for an unknown area or a missing or unknown category."""
    if area not in taxonomy.area_ids:
        raise ValueError(f"未知领域 / unknown area {area!r}")
    if kind != "body" or area == taxonomy.off_topic_id:
        return None  # headings, furniture and off-topic sentences take no category
    if category not in taxonomy.categories:
        raise ValueError(f"正文句子需要类别（具体/口号）/ a body sentence needs a category, not {category!r}")
    return category


def apply_decisions(sentences: list[dict], decisions: dict[int, dict]) -> list[dict]:
    """The units with each decided one's labels replaced by the reviewer's, held certain."""
    out = []
    for index, unit in enumerate(sentences):
        decision = decisions.get(index)
        if decision is None:
            out.append(unit)
            continue
        category = decision["new_category"]
        out.append({**unit, "area": decision["new_area"], "area_scores": {decision["new_area"]: 1.0},
                    "category": category,
                    "concrete_prob": None if category is None else float(category == CONCRETE)})
    return out


def reviewed_result(result: dict, decisions: dict[int, dict], taxonomy: Taxonomy | None = None) -> dict:
    """The stored result scored again with the reviewer's labels (same config and title)."""
    config = ScoringConfig(**result["config"]) if result.get("config") else ScoringConfig()
    return score_sentences(apply_decisions(result["sentences"], decisions), taxonomy=taxonomy, config=config,
                           model_version=result.get("model_version", ""), title=result.get("title"))


def uncertainty(unit: dict) -> float:
    """0 for a unit the model could not decide, 1 for one it is sure of: the smaller of the
    margin between its top two areas and how far its concrete probability is from 0.5 (×2)."""
    top = sorted(unit.get("area_scores", {}).values(), reverse=True)
    margin = top[0] - top[1] if len(top) > 1 else 1.0
    prob = unit.get("concrete_prob")
    if unit.get("kind", "body") == "body" and prob is not None:
        margin = min(margin, 2 * abs(prob - 0.5))
    return float(margin)


def review_order(sentences: list[dict], decisions: dict[int, dict], *, least_certain: bool) -> list[int]:
    """Unit indices to review: in document order, or the least certain first; page furniture
    last, and (least certain first) units already decided after the undecided ones."""
    indices = range(len(sentences))
    if not least_certain:
        return list(indices)

    def key(i: int):
        return (i in decisions, sentences[i].get("kind") == "furniture", uncertainty(sentences[i]), i)
    return sorted(indices, key=key)


# --- export ------------------------------------------------------------------------------

@dataclass
class ExportSummary:
    reports: int = 0
    files: list[Path] = field(default_factory=list)
    exported: int = 0
    confirmed: int = 0
    corrected: int = 0
    already_labelled: int = 0                     # left out: the sentence has a label elsewhere
    area_changes: Counter = field(default_factory=Counter)      # (model's, reviewer's) → units
    category_changes: Counter = field(default_factory=Counter)

    def lines(self) -> list[str]:
        out = [f"{self.exported} reviewed units from {self.reports} reports written to {len(self.files)} files "
               f"({self.corrected} corrected, {self.confirmed} confirmed); "
               f"{self.already_labelled} left out as already labelled"]
        for title, changes in (("area", self.area_changes), ("category", self.category_changes)):
            for (old, new), n in sorted(changes.items(), key=lambda kv: (-kv[1], kv[0])):
                out.append(f"  {title} {old} → {new}: {n}")
        return out


def document_id(content_hash: str) -> str:
    return f"{REVIEW_FILE_PREFIX}{content_hash[:12]}"


def _register_documents(documents_file: Path, entries: dict[str, dict]) -> None:
    """Add the documents not yet described to documents.yaml, keeping its comments: entries
    are appended as text under the `documents` mapping (which must be the file's last key)."""
    text = documents_file.read_text(encoding="utf-8")
    listed = (yaml.safe_load(text) or {}).get("documents") or {}
    new = {doc: entry for doc, entry in entries.items() if doc not in listed}
    if not new:
        return
    block = "".join("  " + yaml.safe_dump({doc: entry}, allow_unicode=True, sort_keys=False, width=1000)
                    .replace("\n", "\n  ").rstrip(" ") for doc, entry in new.items())
    updated = text.rstrip("\n") + "\n" + block
    data = yaml.safe_load(updated)
    if not all(doc in (data.get("documents") or {}) for doc in new):
        raise LabelError(f"{documents_file}: cannot append review documents (is `documents` its last key?)")
    tmp = documents_file.with_name(f".{documents_file.name}.tmp")
    tmp.write_text(updated, encoding="utf-8")
    tmp.replace(documents_file)


def export_labels(store: ReportStore, out_dir: Path, documents_file: Path,
                  taxonomy: Taxonomy | None = None) -> ExportSummary:
    """Write every reviewed report's decided units to ``out_dir/review-<hash>.jsonl`` (each
    file rewritten whole, so exporting twice gives the same files) and register the reports
    in `documents_file`. A sentence labelled in any other label file is left out: the
    existing label stands, and the label files never disagree on a sentence."""
    taxonomy = taxonomy or load_taxonomy()
    out_dir.mkdir(parents=True, exist_ok=True)
    others = [p for p in label_files(out_dir) if not p.name.startswith(REVIEW_FILE_PREFIX)]
    existing = {normalized_key(u.text) for u in load_labels(out_dir, taxonomy, files=others)} if others else set()
    summary = ExportSummary()
    documents: dict[str, dict] = {}
    written: set[str] = set()
    for report_id in store.reviewed_report_ids():
        record = store.get(report_id)
        if record is None:
            continue
        doc = document_id(record["content_hash"])
        rows = []
        for index, decision in sorted(store.decisions(report_id).items()):
            key = normalized_key(decision["text"])
            if key in existing or key in written:
                summary.already_labelled += 1
                continue
            written.add(key)
            rows.append({"id": f"{doc}-{index:04d}", "doc": doc, "kind": decision["kind"],
                         "start": decision["start"], "end": decision["end"], "text": decision["text"],
                         "area": decision["new_area"], "category": decision["new_category"],
                         "source": REVIEW_SOURCE, "reviewer": decision["reviewer"],
                         "model_version": decision["model_version"], "decided_at": decision["decided_at"]})
            changed = (decision["old_area"], decision["old_category"]) != (decision["new_area"], decision["new_category"])
            summary.corrected += changed
            summary.confirmed += not changed
            if decision["old_area"] != decision["new_area"]:
                summary.area_changes[(decision["old_area"], decision["new_area"])] += 1
            if decision["old_category"] != decision["new_category"]:
                summary.category_changes[(decision["old_category"] or "—", decision["new_category"] or "—")] += 1
        path = out_dir / f"{doc}.jsonl"
        if not rows:
            path.unlink(missing_ok=True)  # an earlier export's file for units now labelled elsewhere
            continue
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        tmp.replace(path)
        summary.files.append(path)
        summary.reports += 1
        summary.exported += len(rows)
        documents[doc] = {"kind": REVIEW_KIND, "title": record["title"] or record["filename"] or doc,
                          "year": record["year"], "reviewed_from": f"history report {report_id}"}
        if documents[doc]["year"] is None:
            del documents[doc]["year"]
    if documents:
        _register_documents(documents_file, documents)
    return summary
