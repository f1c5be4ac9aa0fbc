"""The probe (training/probe.py): invented reports scored apart by the committed model."""
from __future__ import annotations

import json
import shutil

import pytest

from fazhi.labels import LabelError, load_labels
from fazhi.model import get_classifier
from fazhi.paths import LABELS_DIR, PROBE_DIR
from fazhi.splitter import split_units
from training.probe import load_probe, main, probe_figures, probe_markdown, probe_metrics


@pytest.fixture(scope="module")
def reports():
    return load_probe()


@pytest.fixture(scope="module")
def figures(reports):
    return probe_figures(get_classifier(), reports, load_labels())


def test_every_probe_report_is_labelled_unit_by_unit(reports):
    assert len(reports) >= 6
    for report in reports:
        split = split_units(report.text)
        # Every unit the splitter cuts is labelled, once, with its kind.
        assert [(u.start, u.kind) for u in split] == [(u.start, u.kind) for u in report.units]
        assert all(u.source == "authored" for u in report.units)


def test_the_probe_never_trains(reports):
    # Training reads data/labels/ only; the probe's documents are not among its labels, and
    # beyond the report formulas (现将…如下, 特此报告) and addressee lines no probe sentence is a
    # training sentence.
    assert LABELS_DIR not in PROBE_DIR.parents and PROBE_DIR != LABELS_DIR
    training = load_labels()
    assert not {u.doc for u in training} & {u.doc for r in reports for u in r.units}
    shared = {u.text for r in reports for u in r.units if u.kind == "body" and u.area != "none"} & {
        u.text for u in training}
    assert all(len(text) <= 12 for text in shared), shared


def test_figures_cover_both_tasks_the_model_and_the_rules(figures, reports):
    assert figures["area"]["n"] == sum(u.kind == "body" for r in reports for u in r.units)
    assert figures["category"]["n"] == sum(u.category is not None for r in reports for u in r.units)
    assert "rule: taxonomy keywords" in figures["area"]["macro_f1"]
    assert "rule: anchor cues" in figures["category"]["macro_f1"]
    for task in ("area", "category"):
        for f1 in figures[task]["macro_f1"].values():
            assert 0.0 <= f1 <= 1.0
        assert set(figures[task]["per_report"]) == {r.name for r in reports}
    metrics = probe_metrics(figures)
    assert metrics["probe_area_macro_f1"] == figures["area"]["macro_f1"]["model"]
    assert metrics["probe_category_better_rule_macro_f1"] == max(
        v for k, v in figures["category"]["macro_f1"].items() if k != "model")
    table = probe_markdown(figures)
    assert "| **model** |" in table and "| digital |" in table


def test_a_label_file_without_its_report_is_an_error(tmp_path):
    (source,) = sorted(PROBE_DIR.glob("*.jsonl"))[:1]
    shutil.copy(source, tmp_path / source.name)
    with pytest.raises(LabelError, match="no report"):
        load_probe(tmp_path)


def test_a_label_off_the_reports_units_is_an_error(tmp_path, capsys):
    source = sorted(PROBE_DIR.glob("*.jsonl"))[0]
    shutil.copy(source.with_suffix(".txt"), tmp_path / source.with_suffix(".txt").name)
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    rows[1]["start"] += 1
    (tmp_path / source.name).write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                                        encoding="utf-8")
    with pytest.raises(LabelError, match="no unit"):
        load_probe(tmp_path)
    assert main(["--probe-dir", str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err


def test_an_empty_probe_folder_is_an_error(tmp_path, capsys):
    assert main(["--probe-dir", str(tmp_path)]) == 2
    assert "no probe reports" in capsys.readouterr().err
