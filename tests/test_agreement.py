"""The second labelling scored like a model: the right sentences, the right predictions."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from training import agreement, evaluate

# Two documents, listed out of sorted order ("b" before "a"), so that a pooled position
# (documents sorted) differs from a unit's index; "t" only trains.
UNITS = [  # doc, start, text, label, evaluated
    ("b", 0, "乙一", "concrete", True),
    ("t", None, "训练句", "slogan", False),
    ("b", 10, "乙二", "slogan", True),
    ("b", 20, "乙三", "concrete", True),
    ("a", 0, "甲一", "slogan", True),
    ("a", 10, "甲二", "concrete", True),
]
KINDS = {"a": "plan", "b": "annual_report", "t": "authored"}


def _evaluation(nested_pred: dict, rule_pred: dict) -> dict:
    """A training evaluation in the shape of training.train.evaluate_all, for one task
    (category); predictions given per text, laid out in pooled order."""
    docs, starts, texts, labels, evaluated = zip(*[(d, s, t, y, e) for d, s, t, y, e in UNITS])
    data = evaluate.TaskData("category", list(texts), list(labels), list(docs), np.array(evaluated),
                             doc_kinds=KINDS, starts=list(starts))
    order = evaluate.pooled_order(data)
    assert [texts[i] for i in order] == ["甲一", "甲二", "乙一", "乙二", "乙三"]
    truth = [labels[i] for i in order]
    nested = evaluate.CVResult("nested choice", None, 0.0, 0.0, 0.0, y_true=truth,
                               y_pred=[nested_pred[texts[i]] for i in order])
    rule = evaluate.CVResult("rule: anchor cues", None, 0.0, 0.0, 0.0, y_true=truth,
                             y_pred=[rule_pred[texts[i]] for i in order],
                             by_kind={"annual_report": {"macro_f1": 0.5}})
    weaker = evaluate.CVResult("rule: weaker", None, 0.0, 0.0, 0.0, y_true=truth, y_pred=["slogan"] * 5,
                               by_kind={"annual_report": {"macro_f1": 0.1}})
    return {"category_data": data, "category_nested": evaluate.NestedResult(nested),
            "category_results": [weaker, rule]}


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def sample(tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    _write(labels / "b.jsonl", [{"id": f"b-{s}", "doc": "b", "start": s, "text": t}
                                for d, s, t, *_ in UNITS if d == "b"])
    _write(labels / "a.jsonl", [{"id": f"a-{s}", "doc": "a", "start": s, "text": t}
                                for d, s, t, *_ in UNITS if d == "a"])
    # The second labeller read 乙一, 乙三 and 甲二 (disagreeing on 乙三); 乙二 was not sampled.
    second = tmp_path / "second.jsonl"
    _write(second, [{"id": "b-0", "doc": "b", "text": "乙一", "category": "concrete"},
                    {"id": "b-20", "doc": "b", "text": "乙三", "category": "slogan"},
                    {"id": "a-10", "doc": "a", "text": "甲二", "category": "concrete"}])
    return labels, second


def test_each_reader_is_scored_on_the_sampled_sentences_only(sample, monkeypatch):
    labels, second = sample
    monkeypatch.setattr(agreement, "TASKS", ("category",))
    e = _evaluation(nested_pred={"甲一": "concrete", "甲二": "slogan", "乙一": "concrete", "乙二": "concrete",
                                 "乙三": "concrete"},
                    rule_pred={"甲一": "slogan", "甲二": "concrete", "乙一": "slogan", "乙二": "slogan",
                               "乙三": "concrete"})
    figures = agreement.ceiling_figures(e, "annual_report", second, labels)["category"]

    def f1(truth, predicted):
        return f1_score(truth, predicted, average="macro")

    annual, everything = figures["annual_report"], figures["all"]
    assert annual["n"] == 2 and everything["n"] == 3
    # Annual reports: 乙一 (concrete) and 乙三 (concrete); 乙二, unsampled, never counts.
    assert annual["second labeller"]["macro_f1"] == pytest.approx(f1(["concrete"] * 2, ["concrete", "slogan"]))
    assert annual["nested choice"]["macro_f1"] == pytest.approx(1.0)
    # The better rule over annual reports is the one compared, on the same sentences.
    assert "rule: weaker" not in annual
    assert annual["rule: anchor cues"]["macro_f1"] == pytest.approx(f1(["concrete"] * 2, ["slogan", "concrete"]))
    # All documents add the plan's 甲二, where the nested model is wrong and the rule right.
    assert everything["nested choice"]["macro_f1"] == pytest.approx(
        f1(["concrete"] * 3, ["slogan", "concrete", "concrete"]))
    assert everything["rule: anchor cues"]["macro_f1"] == pytest.approx(
        f1(["concrete"] * 3, ["concrete", "slogan", "concrete"]))
    assert agreement.ceiling_metrics({"category": figures}, "annual_report") == {
        "category_macro_f1_second_labeller": annual["second labeller"]["macro_f1"],
        "category_macro_f1_second_labeller_all": everything["second labeller"]["macro_f1"]}
    table = agreement.ceiling_markdown({"category": figures}, "annual_report")
    assert "| category | annual_report | 2 | second labeller |" in table


def test_a_missing_second_label_is_a_disagreement(sample, monkeypatch):
    labels, second = sample
    rows = [json.loads(line) for line in second.read_text(encoding="utf-8").splitlines()]
    rows[0]["category"] = None  # the second labeller gave 乙一 no category
    _write(second, rows)
    monkeypatch.setattr(agreement, "TASKS", ("category",))
    same = {t: y for _, _, t, y, _ in UNITS}
    figures = agreement.ceiling_figures(_evaluation(same, same), "annual_report", second, labels)["category"]
    assert figures["annual_report"]["n"] == 2
    assert figures["annual_report"]["second labeller"]["macro_f1"] < 0.5


def test_a_sample_outside_the_evaluation_is_left_out(sample, monkeypatch, tmp_path):
    labels, second = sample
    monkeypatch.setattr(agreement, "TASKS", ("category",))
    same = {t: y for _, _, t, y, _ in UNITS}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()  # labels without these ids: no sampled sentence is found
    assert agreement.ceiling_figures(_evaluation(same, same), "annual_report", second, elsewhere) == {}
