"""fazhi.labels: the real labelled corpus loads; bad label files stop loading with file:line."""
from __future__ import annotations

import csv
import json
from collections import Counter

import pytest

from fazhi.labels import EVALUATION_SOURCE, KINDS, LabelError, labels_hash, load_labels
from fazhi.paths import LABELS_DIR
from fazhi.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy()

GOOD = [
    {"doc": "900", "kind": "heading", "text": "一、法治政府建设基本情况", "area": "general", "category": None,
     "source": "manual"},
    {"doc": "900", "kind": "body", "text": "2017年，区政府办理行政复议案件43件，全部在法定时限内办结。",
     "area": "disputes", "category": "concrete", "source": "manual", "start": 12},
    {"doc": "900", "kind": "body", "text": "切实做好行政应诉工作。", "area": "disputes", "category": "slogan",
     "source": "manual"},
    {"doc": "900", "kind": "furniture", "text": "扫一扫在手机打开当前页", "area": "none", "category": None,
     "source": "manual"},
]


def write_jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def write_csv(path, rows) -> None:
    fields = ["doc", "kind", "text", "area", "category", "source", "start"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in fields})


@pytest.fixture(scope="module")
def units():
    return load_labels()


# --- the real corpus -----------------------------------------------------------------------

def test_real_labels_load(units):
    assert len(units) > 700
    assert {u.doc for u in units} >= {"000", "001", "003"}


def test_real_labels_are_valid(units):
    areas, categories = set(TAXONOMY.area_ids), set(TAXONOMY.categories)
    for u in units:
        assert u.area in areas, u.where
        assert u.kind in KINDS, u.where
        assert u.text.strip(), u.where
        if u.kind == "body" and u.area != TAXONOMY.off_topic_id:
            assert u.category in categories, u.where
        else:
            assert u.category is None, u.where


def test_enough_manual_body_units_for_evaluation(units):
    manual_body = [u for u in units if u.source == EVALUATION_SOURCE and u.kind == "body"]
    assert len(manual_body) >= 500
    assert all(u.is_evaluation_truth for u in manual_body)
    assert not any(u.is_evaluation_truth for u in units if u.source != EVALUATION_SOURCE)
    # Every area and both categories have examples to learn from.
    assert set(Counter(u.area for u in units)) == set(TAXONOMY.area_ids)
    assert set(Counter(u.category for u in manual_body)) >= {"concrete", "slogan"}


def test_real_units_point_at_their_lines(units):
    for u in units[:50]:
        path, line = u.where.rsplit(":", 1)
        lines = open(path, encoding="utf-8").read().splitlines()
        assert json.loads(lines[int(line) - 1])["text"].strip() == u.text


def test_hash_depends_on_content(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", GOOD)
    first = labels_hash(tmp_path)
    assert first == labels_hash(tmp_path) and len(first) == 16
    write_jsonl(tmp_path / "a.jsonl", GOOD[:-1])
    assert labels_hash(tmp_path) != first
    assert labels_hash(LABELS_DIR) != first


# --- good files in tmp_path -------------------------------------------------------------------

def test_good_jsonl_loads(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", GOOD)
    units = load_labels(tmp_path)
    assert [(u.kind, u.area, u.category) for u in units] == [
        ("heading", "general", None), ("body", "disputes", "concrete"),
        ("body", "disputes", "slogan"), ("furniture", "none", None)]
    assert units[1].start == 12 and units[0].start is None
    assert units[2].where == f"{tmp_path / 'a.jsonl'}:3"


def test_csv_label_file_is_read(tmp_path):
    write_csv(tmp_path / "b.csv", GOOD)
    units = load_labels(tmp_path)
    assert [u.text for u in units] == [r["text"] for r in GOOD]
    assert [u.category for u in units] == [r["category"] for r in GOOD]
    assert units[1].start == 12
    assert units[0].where == f"{tmp_path / 'b.csv'}:2"  # line 1 is the header


def test_csv_with_bom_and_jsonl_together(tmp_path):
    write_csv(tmp_path / "b.csv", GOOD[:2])
    data = (tmp_path / "b.csv").read_bytes()
    (tmp_path / "b.csv").write_bytes(b"\xef\xbb\xbf" + data)  # Excel saves CSV with a BOM
    write_jsonl(tmp_path / "a.jsonl", GOOD[2:])
    units = load_labels(tmp_path)
    assert len(units) == 4 and units[0].doc == "900"


def test_subfolders_and_other_files_are_ignored(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", GOOD)
    (tmp_path / "work").mkdir()
    write_jsonl(tmp_path / "work" / "draft.jsonl", [{**GOOD[1], "area": "bogus"}])
    (tmp_path / "notes.txt").write_text("not labels", encoding="utf-8")
    assert len(load_labels(tmp_path)) == len(GOOD)


def test_the_same_sentence_twice_with_the_same_label_is_fine(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", GOOD)
    write_jsonl(tmp_path / "b.jsonl", [GOOD[2]])
    assert len(load_labels(tmp_path)) == len(GOOD) + 1


# --- bad files ----------------------------------------------------------------------------

def load_error(tmp_path, rows, name="bad.jsonl") -> str:
    path = tmp_path / name
    (write_csv if name.endswith(".csv") else write_jsonl)(path, rows)
    with pytest.raises(LabelError) as info:
        load_labels(tmp_path)
    return str(info.value)


def test_unknown_area_names_file_and_line(tmp_path):
    message = load_error(tmp_path, GOOD[:2] + [{**GOOD[2], "area": "economy"}])
    assert f"{tmp_path / 'bad.jsonl'}:3" in message
    assert "economy" in message


def test_unknown_category_names_file_and_line(tmp_path):
    message = load_error(tmp_path, [{**GOOD[1], "category": "vague"}] + GOOD[2:])
    assert f"{tmp_path / 'bad.jsonl'}:1" in message
    assert "vague" in message


def test_unknown_area_in_csv_names_file_and_line(tmp_path):
    message = load_error(tmp_path, GOOD[:3] + [{**GOOD[2], "text": "另一句。", "area": "economy"}], "bad.csv")
    assert f"{tmp_path / 'bad.csv'}:5" in message


def test_conflicting_labels_name_both_places(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", GOOD)
    # The same sentence with full-width/half-width differences and a different category.
    write_jsonl(tmp_path / "b.jsonl", [GOOD[0], {**GOOD[1], "text": "2017年,区政府办理行政复议案件43件,全部在法定时限内办结。",
                                                 "category": "slogan"}])
    with pytest.raises(LabelError) as info:
        load_labels(tmp_path)
    message = str(info.value)
    assert f"{tmp_path / 'b.jsonl'}:2" in message
    assert f"{tmp_path / 'a.jsonl'}:2" in message
    assert "concrete" in message and "slogan" in message


def test_invalid_json_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    write_jsonl(path, GOOD)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"doc": "900", "text": "缺少结尾", "area": "general"\n')
    with pytest.raises(LabelError) as info:
        load_labels(tmp_path)
    assert f"{path}:5" in str(info.value)
    assert "JSON" in str(info.value)


def test_json_that_is_not_an_object(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(GOOD[0], ensure_ascii=False) + "\n\n" + '["a", "b"]\n', encoding="utf-8")
    with pytest.raises(LabelError, match=f"{path}:3"):
        load_labels(tmp_path)


@pytest.mark.parametrize("field", ["doc", "text", "area", "source"])
def test_missing_field(tmp_path, field):
    row = dict(GOOD[1])
    del row[field]
    message = load_error(tmp_path, [GOOD[0], row])
    assert f"{tmp_path / 'bad.jsonl'}:2" in message and field in message


def test_body_sentence_needs_a_category_and_others_take_none(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    message = load_error(tmp_path / "one", [{**GOOD[1], "category": None}])
    assert "bad.jsonl:1" in message and "needs a category" in message
    message = load_error(tmp_path / "two", [GOOD[1], {**GOOD[0], "category": "slogan"}])
    assert "bad.jsonl:2" in message and "takes no category" in message


def test_unknown_kind(tmp_path):
    assert "table" in load_error(tmp_path, [{**GOOD[1], "kind": "table"}])


def test_empty_directory(tmp_path):
    with pytest.raises(LabelError, match="no label files"):
        load_labels(tmp_path)


# --- the document list -------------------------------------------------------------------

def test_every_labelled_document_is_described_with_its_file():
    from fazhi.labels import check_documents_listed, load_documents
    from fazhi.paths import REPORTS_DIR

    documents = load_documents()
    units = load_labels(LABELS_DIR, TAXONOMY)
    check_documents_listed(units, documents)  # raises if one is missing
    assert {u.doc for u in units} <= set(documents)
    for described in documents.values():
        assert described.kind in {"annual_report", "plan", "authored"}
        if described.kind != "authored":  # authored sentences come from no published report
            assert (REPORTS_DIR / described.file).is_file(), described.file
    assert documents["000"].kind == documents["001"].kind == documents["002"].kind == "annual_report"
    assert documents["003"].kind == "plan"


def test_authored_sentences_never_are_evaluation_truth():
    from fazhi.labels import AUTHORED_SOURCE, load_documents

    documents = load_documents()
    authored = [u for u in load_labels(LABELS_DIR, TAXONOMY) if u.source == AUTHORED_SOURCE]
    assert len(authored) > 300
    assert all(not u.is_evaluation_truth and documents[u.doc].kind == "authored" for u in authored)


def test_unlisted_document_stops_with_file_and_line(tmp_path):
    from fazhi.labels import check_documents_listed, load_documents

    write_jsonl(tmp_path / "a.jsonl", GOOD)
    units = load_labels(tmp_path, TAXONOMY)
    with pytest.raises(LabelError, match=r"a\.jsonl:1: document '900' is not listed"):
        check_documents_listed(units, load_documents())


@pytest.mark.parametrize("text, message", [
    ("documents: []\n", "expected a `documents` mapping"),
    ('documents:\n  "900": {title: x}\n', "document '900' needs a `kind`"),
    ("documents: {a: [\n", "cannot read the document list"),
    ('documents:\n  "900": {kind: authored, trains: [slogans]}\n', "`trains` lists tasks among area, category"),
    ('documents:\n  "900": {kind: authored, trains: []}\n', "`trains` lists tasks"),
])
def test_bad_document_list_is_named(tmp_path, text, message):
    from fazhi.labels import load_documents

    path = tmp_path / "documents.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LabelError, match=message) as caught:
        load_documents(path)
    assert str(path) in str(caught.value)


def test_a_document_that_trains_one_task_stays_out_of_the_other(tmp_path):
    from fazhi.labels import load_documents
    from training.evaluate import build_tasks

    write_jsonl(tmp_path / "900.jsonl", GOOD)
    write_jsonl(tmp_path / "901.jsonl", [{**row, "doc": "901", "source": "authored", "text": row["text"] + "（写）"}
                                         for row in GOOD])
    (tmp_path / "documents.yaml").write_text(
        'documents:\n  "900": {kind: annual_report}\n  "901": {kind: authored, trains: [category]}\n',
        encoding="utf-8")
    documents = load_documents(tmp_path / "documents.yaml")
    assert documents["900"].trains == ("area", "category") and documents["901"].trains == ("category",)
    area, category = build_tasks(load_labels(tmp_path, TAXONOMY), documents)
    assert set(area.docs) == {"900"}
    assert set(category.docs) == {"900", "901"}
    before = labels_hash(tmp_path, tmp_path / "documents.yaml")
    (tmp_path / "documents.yaml").write_text('documents:\n  "900": {kind: annual_report}\n  "901": {kind: authored}\n',
                                            encoding="utf-8")
    assert labels_hash(tmp_path, tmp_path / "documents.yaml") != before  # what trains what is part of the data
