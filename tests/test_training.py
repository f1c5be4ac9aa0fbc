"""Training end to end against a temporary MLflow store: log, register, promote, export.

The module trains twice (about 25 s each) in one module-scoped fixture: first with the
defaults, then with deliberately worse feature sets, which must register a version without
taking the champion alias.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
from datetime import datetime, timezone

import pytest

from fazhi.model import SentenceClassifier, load_classifier
from fazhi.paths import REPORTS_DIR
from fazhi.splitter import split_sentences
from fazhi.taxonomy import load_taxonomy

import mlflow  # a hard dependency: a broken install fails here, it does not skip

import training.train
from training.registry import (CHAMPION_ALIAS, REGISTERED_MODEL, committed_model_tags, export_model,
                               promote_if_better)

TAXONOMY = load_taxonomy()
WORSE = ["--area-features", "word", "--category-features", "char"]


def _sample_sentences() -> list[str]:
    (report,) = REPORTS_DIR.glob("001_*.txt")
    sentences = split_sentences(report.read_text(encoding="utf-8"))
    picked = sentences[::6][:19]
    return picked + ["扫一扫在手机打开当前页"]


SENTENCES = _sample_sentences()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two training runs in a fresh SQLite store; yields what they returned and printed."""
    from mlflow.tracking._tracking_service import utils as tracking_utils

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root}/mlflow.db"
    saved_env = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID")}
    saved_uri = getattr(tracking_utils, "_tracking_uri", None)
    os.environ["MLFLOW_TRACKING_URI"] = uri
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    try:
        outputs = []
        for argv in ([], WORSE):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = training.train.main(argv)
            outputs.append((code, out.getvalue()))
        yield {"uri": uri, "root": root, "client": mlflow.MlflowClient(tracking_uri=uri),
               "first": outputs[0], "second": outputs[1]}
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if hasattr(tracking_utils, "_tracking_uri"):
            tracking_utils._tracking_uri = saved_uri


def chosen(params: dict, task: str) -> str:
    """The feature set a run kept for a task. Logged as `<task>_feature_set` (a run started by
    `mlflow run` already holds the entry point's `<task>_features`, the requested value)."""
    return params.get(f"{task}_feature_set", params.get(f"{task}_features"))


def version(store, number: str):
    return store["client"].get_model_version(REGISTERED_MODEL, number)


def run_of(store, number: str):
    return store["client"].get_run(version(store, number).run_id)


@pytest.fixture(scope="module")
def exported(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    card = export_model(f"models:/{REGISTERED_MODEL}@{CHAMPION_ALIAS}", destination=out / "m.joblib",
                        card=out / "card.json")
    return {"card": card, "model": out / "m.joblib", "card_file": out / "card.json", "dir": out}


# --- the first run ------------------------------------------------------------------------

def test_both_runs_succeed(store):
    assert store["first"][0] == 0 and store["second"][0] == 0
    assert re.search(r"trained fazhi v1 \(champion -> v1\)", store["first"][1])
    assert re.search(r"trained fazhi v2 \(not promoted: ", store["second"][1])


def test_first_version_is_champion(store):
    client = store["client"]
    champion = client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION_ALIAS)
    assert str(champion.version) == "1"
    assert version(store, "1").aliases == [CHAMPION_ALIAS]
    assert run_of(store, "1").data.tags["promoted"] == "True"


def test_run_logged_params(store):
    params = run_of(store, "1").data.params
    assert chosen(params, "area") in set(training.evaluate.AREA_FEATURE_SETS)
    assert chosen(params, "category") in set(training.evaluate.CATEGORY_FEATURE_SETS)
    assert re.fullmatch(r"[0-9a-f]{16}", params["data_hash"])
    assert float(params["C"]) == 0.5
    assert params["taxonomy_version"] == TAXONOMY.version
    assert int(params["n_units"]) > 700 and int(params["n_documents"]) >= 3
    assert params["evaluation"] == "nested leave-one-document-out"
    assert float(params["section_weight"]) >= 0 and float(params["context_weight"]) >= 0


def test_run_logged_metrics(store):
    metrics = run_of(store, "1").data.metrics
    for key in ("area_macro_f1", "category_macro_f1", "area_accuracy", "category_accuracy",
                "area_macro_f1_all", "category_macro_f1_all", "area_macro_f1_selection"):
        assert 0.0 < metrics[key] <= 1.0, key
    # Per class: every area the evaluation saw, and both categories.
    for label in ("functions", "enforcement", "disputes", "leadership"):
        for kind in ("precision", "recall", "f1"):
            assert 0.0 <= metrics[f"area_{kind}_{label}"] <= 1.0
    for label in ("concrete", "slogan"):
        assert 0.0 < metrics[f"category_f1_{label}"] <= 1.0
    # Bootstrap interval around each headline figure, and each held-out document's own figure.
    for task in ("area", "category"):
        assert metrics[f"{task}_macro_f1_low"] <= metrics[f"{task}_macro_f1"] <= metrics[f"{task}_macro_f1_high"]
        per_document = {k for k in metrics if k.startswith(f"{task}_macro_f1_doc_")}
        assert per_document == {f"{task}_macro_f1_doc_{doc}" for doc in ("000", "001", "002", "003")}
        for kind in ("annual_report", "plan"):  # the kinds of data/documents.yaml
            assert (metrics[f"{task}_macro_f1_{kind}_low"] <= metrics[f"{task}_macro_f1_{kind}"]
                    <= metrics[f"{task}_macro_f1_{kind}_high"])
    # The headline is the nested figure over annual reports, with the rules beside it.
    assert metrics["area_macro_f1"] == metrics["area_macro_f1_annual_report"]
    assert metrics["area_macro_f1"] > metrics["area_baseline_majority_class_macro_f1"]
    assert metrics["area_macro_f1"] > metrics["area_baseline_taxonomy_keywords_macro_f1"]
    assert metrics["category_macro_f1"] > metrics["category_baseline_majority_class_macro_f1"]
    assert 0 < metrics["category_baseline_anchor_cues_named_actor_s_act_macro_f1"] <= 1
    # The second labelling of the agreement sample, scored against the labels like a model.
    for task in ("area", "category"):
        assert 0.5 < metrics[f"{task}_macro_f1_second_labeller"] <= 1
        assert 0.5 < metrics[f"{task}_macro_f1_second_labeller_all"] <= 1
    # The probe (data/probe/, never trained on) scored by the run's model, with the better rule.
    for task in ("area", "category"):
        assert 0 < metrics[f"probe_{task}_macro_f1"] <= 1
        assert 0 < metrics[f"probe_{task}_better_rule_macro_f1"] <= 1


def test_run_logged_evaluation_artifacts(store, tmp_path):
    run = run_of(store, "1")
    client = store["client"]
    paths = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert {"evaluation/confusion-area.png", "evaluation/confusion-category.png",
            "evaluation/model-comparison.md", "evaluation/per-class-area.json"} <= paths
    png = client.download_artifacts(run.info.run_id, "evaluation/confusion-area.png", str(tmp_path))
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    table = open(client.download_artifacts(run.info.run_id, "evaluation/model-comparison.md", str(tmp_path)),
                 encoding="utf-8").read()
    assert "nested leave-one-document-out" in table and "headline" in table and "95 % interval" in table
    assert chosen(run.data.params, "area") in table
    assert "## Probe: invented reports" in table
    assert "## The labels' own ceiling" in table and "| second labeller |" in table
    # Artifacts live beside the temporary store, not in the repository.
    assert str(store["root"]) in run.info.artifact_uri


def test_version_tags_carry_the_metrics(store):
    tags = version(store, "1").tags
    metrics = run_of(store, "1").data.metrics
    assert float(tags["area_macro_f1"]) == pytest.approx(metrics["area_macro_f1"], abs=1e-4)
    assert float(tags["category_macro_f1"]) == pytest.approx(metrics["category_macro_f1"], abs=1e-4)
    assert tags["data_hash"] == run_of(store, "1").data.params["data_hash"]


# --- the second, worse run -------------------------------------------------------------------

def test_worse_run_registers_v2_but_keeps_the_champion(store):
    client = store["client"]
    second = version(store, "2")
    assert second.aliases == []
    assert str(client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION_ALIAS).version) == "1"
    run = run_of(store, "2")
    assert chosen(run.data.params, "area") == "word"
    assert chosen(run.data.params, "category") == "char"
    assert run.data.tags["promoted"] == "False"
    first = run_of(store, "1").data.metrics
    assert (run.data.metrics["area_macro_f1"] < first["area_macro_f1"]
            or run.data.metrics["category_macro_f1"] < first["category_macro_f1"])
    assert {str(v.version) for v in client.search_model_versions(f"name='{REGISTERED_MODEL}'")} == {"1", "2"}


def test_a_store_without_a_champion_promotes_only_what_beats_the_committed_model(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/fresh.db")
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/fresh.db")
    client.create_registered_model("fresh")
    first = client.create_model_version("fresh", source=str(tmp_path)).version
    committed = committed_model_tags()
    assert {"area_macro_f1", "category_macro_f1", "data_hash", "category_features"} <= set(committed)
    worse = {"area_macro_f1": float(committed["area_macro_f1"]) - 0.01,
             "category_macro_f1": float(committed["category_macro_f1"]) + 0.01}
    assert not promote_if_better("fresh", first, worse, committed["data_hash"], committed=committed)
    assert client.get_registered_model("fresh").aliases == {}
    second = client.create_model_version("fresh", source=str(tmp_path)).version
    as_good = {key: float(committed[key]) for key in ("area_macro_f1", "category_macro_f1")}
    assert promote_if_better("fresh", second, as_good, committed["data_hash"], committed=committed)
    assert str(client.get_model_version_by_alias("fresh", CHAMPION_ALIAS).version) == str(second)


# --- export and equivalence ----------------------------------------------------------------

def test_export_writes_model_and_card(store, exported):
    card = json.loads(exported["card_file"].read_text(encoding="utf-8"))
    assert card == exported["card"]
    first = run_of(store, "1")
    # Named by the run's date and id, not by the store's version number (1 in every new store).
    day = datetime.fromtimestamp(first.info.start_time / 1000, tz=timezone.utc).strftime("%Y%m%d")
    assert card["version"] == f"{REGISTERED_MODEL}-{day}-{first.info.run_id[:8]}"
    assert card["metrics"]["area_macro_f1"] == round(first.data.metrics["area_macro_f1"], 4)
    assert card["metrics"]["category_macro_f1"] == round(first.data.metrics["category_macro_f1"], 4)
    assert card["data_hash"] == first.data.params["data_hash"]
    assert card["taxonomy_version"] == TAXONOMY.version
    assert card["run_id"] == first.info.run_id
    assert card["file"] == "m.joblib"
    assert not list(exported["dir"].glob("*.tmp"))
    model = load_classifier(exported["model"])
    assert isinstance(model, SentenceClassifier)
    assert model.version == card["version"]
    assert model.area_ids == TAXONOMY.area_ids and model.off_topic_area == "none"


def _none_if_nan(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def test_exported_model_predicts_like_the_pyfunc_model(store, exported):
    import pandas as pd

    model = load_classifier(exported["model"])
    rows = model.predict(SENTENCES)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{REGISTERED_MODEL}/1")
    frame = pyfunc.predict(pd.DataFrame({"text": SENTENCES}))
    assert len(frame) == len(SENTENCES) == 20
    assert list(frame["area"]) == [r["area"] for r in rows]
    assert [_none_if_nan(p) for p in frame["concrete_prob"]] == [r["concrete_prob"] for r in rows]
    assert [_none_if_nan(c) for c in frame["category"]] == [r["category"] for r in rows]
    # The sample is not degenerate: several areas and both categories occur.
    assert len({r["area"] for r in rows}) >= 3
    assert {"concrete", "slogan"} <= {r["category"] for r in rows}
    assert rows[-1]["area"] == "none"


def test_pyfunc_with_kinds_and_contexts_classifies_like_a_report(store, exported):
    import pandas as pd

    from fazhi.classify import classify_report
    from fazhi.splitter import section_contexts, split_units

    text = (REPORTS_DIR / "001_4bbaf42a68c37ea5.txt").read_text(encoding="utf-8")
    units = split_units(text)
    expected = classify_report(load_classifier(exported["model"]), text)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{REGISTERED_MODEL}/1")
    frame = pyfunc.predict(pd.DataFrame({"sentence": [u.text for u in units], "kind": [u.kind for u in units],
                                         "context": section_contexts(units)}))
    assert list(frame["area"]) == [r["area"] for r in expected]
    assert [_none_if_nan(c) for c in frame["category"]] == [r["category"] for r in expected]
    # Headings and furniture get no category, as in `fazhi classify REPORT`.
    assert all(_none_if_nan(c) is None for c, u in zip(frame["category"], units) if u.kind != "body")


def test_exported_model_survives_save_and_load(exported, tmp_path):
    model = load_classifier(exported["model"])
    again = load_classifier(model.save(tmp_path / "again" / "m.joblib"))
    assert again.predict(SENTENCES) == model.predict(SENTENCES)
    assert again.info == model.info and again.context_weight == model.context_weight


def test_cli_reads_the_champion_from_the_registry(store, exported, tmp_path, capsys):
    from fazhi.cli import main

    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    assert main(["classify", "--sentences", str(path), "--model", f"models:/{REGISTERED_MODEL}@{CHAMPION_ALIAS}"]) == 0
    out = capsys.readouterr().out
    rows = [json.loads(line) for line in out[:-1].split("\n")]
    assert rows == load_classifier(exported["model"]).predict(SENTENCES)


# --- bad labels ----------------------------------------------------------------------------

def test_bad_labels_stop_training_with_file_and_line(tmp_path, capsys):
    bad = tmp_path / "labels"
    bad.mkdir()
    rows = [
        {"doc": "900", "kind": "body", "text": "切实做好行政应诉工作。", "area": "disputes", "category": "slogan",
         "source": "manual"},
        {"doc": "900", "kind": "body", "text": "深化放管服改革。", "area": "economy", "category": "slogan",
         "source": "manual"},
    ]
    path = bad / "bad.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    code = training.train.main(["--labels-dir", str(bad)])
    captured = capsys.readouterr()
    assert code == 2
    assert f"{path}:2" in captured.err and "economy" in captured.err
    assert captured.out == ""


def test_a_lever_naming_no_document_stops_training(capsys):
    """A misspelt document would otherwise measure the default run under the lever's name."""
    code = training.train.main(["--without-document", "authored-zz"])
    captured = capsys.readouterr()
    assert code == 2
    assert "'authored-zz'" in captured.err and "documents.yaml" in captured.err
