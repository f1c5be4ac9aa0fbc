"""MLflow plumbing: the tracking store, logging the model, promotion and export.

The model is logged as an MLflow pyfunc model whose artifact is the joblib file of the
`SentenceClassifier`, with the `fazhi` package shipped beside it; so the same model serves
`mlflow.pyfunc.load_model`, `mlflow.pyfunc.spark_udf` and the CLI's `--model models:/…`.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

from fazhi.model import SentenceClassifier, load_classifier
from fazhi.paths import DEFAULT_MODEL_FILE, MLFLOW_STORE_FILE, MODEL_CARD_FILE, PACKAGE_DIR

REGISTERED_MODEL = "fazhi"
CHAMPION_ALIAS = "champion"
# A new version becomes champion only if it is at least as good on every one of these.
PROMOTION_METRICS = ("area_macro_f1", "category_macro_f1")
MODEL_ARTIFACT = "classifier.joblib"
# What a version records of how it was built (its setting), as version tags.
SETTING_TAGS = ("area_features", "category_features", "context_weight", "section_weight", "C", "max_df",
                "char_ngram_max", "keyword_sets", "class_weight")


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI if set, else the SQLite store at the repository root."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{MLFLOW_STORE_FILE}"


def artifact_location(uri: str) -> str | None:
    """Artifacts next to a local SQLite store (so a temporary store keeps them with it)."""
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        return (Path(parsed.path).parent / "mlartifacts").resolve().as_uri()
    return None


def _client():
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri())


def log_classifier(classifier: SentenceClassifier, workdir: Path, registered_model: str) -> str:
    """Log the classifier as a pyfunc model in the active run and register a version of it."""
    import mlflow

    from training.pyfunc import FazhiPyfunc

    joblib_path = classifier.save(workdir / MODEL_ARTIFACT)
    info = mlflow.pyfunc.log_model(
        name="model", python_model=FazhiPyfunc(), artifacts={"classifier": str(joblib_path)},
        code_paths=[str(PACKAGE_DIR)], registered_model_name=registered_model,
        # No signature: category and concrete_prob are null for off-topic sentences.
        pip_requirements=_requirements())
    version = str(info.registered_model_version)
    # The version knows its own figures, so promotion and export need not look up the run.
    client = _client()
    for key, value in classifier.info.get("metrics", {}).items():
        client.set_model_version_tag(registered_model, version, key, str(value))
    client.set_model_version_tag(registered_model, version, "data_hash", classifier.info.get("data_hash", ""))
    # The setting, so that a later run on other labels can evaluate this version like with like.
    for key in SETTING_TAGS:
        if key in classifier.info:
            client.set_model_version_tag(registered_model, version, key, str(classifier.info[key]))
    return version


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}"
            for name in ("scikit-learn", "jieba", "rjieba", "joblib", "numpy", "scipy", "pyyaml", "pandas")]


def committed_model_tags(path: Path = DEFAULT_MODEL_FILE) -> dict | None:
    """The committed model's figures, data hash and setting, as a version's tags hold them;
    None without a committed model."""
    if not Path(path).is_file():
        return None
    info = load_classifier(path).info
    tags = {key: str(value) for key, value in info.get("metrics", {}).items()}
    tags["data_hash"] = str(info.get("data_hash", ""))
    tags.update({key: str(info[key]) for key in SETTING_TAGS if key in info})
    return tags


def promote_if_better(registered_model: str, version: str, metrics: dict, data_hash: str | None = None,
                      rescore=None, committed: dict | None = None) -> bool:
    """Move the champion alias to `version` if it matches or beats the champion on every metric,
    compared like with like: the recorded figures when both were evaluated on the same labels
    (same data hash, so the same units and folds); otherwise `rescore(champion_tags)` evaluates
    both on the current labels and returns (new figures, champion figures).

    A store without a champion (a fresh clone's) still has a current model: the committed one,
    whose tags (`committed_model_tags`) stand in for the champion's, so a first run replaces it
    only when it is at least as good."""
    from mlflow.exceptions import MlflowException

    client = _client()
    try:
        champion = client.get_model_version_by_alias(registered_model, CHAMPION_ALIAS)
    except MlflowException:
        champion = None
    champion_tags = None
    if champion is not None and str(champion.version) != str(version):
        champion_tags = champion.tags
    elif champion is None:
        champion_tags = committed
    if champion_tags is not None:
        ours, theirs = metrics, {k: float(v) for k, v in champion_tags.items() if k in PROMOTION_METRICS}
        if data_hash is not None and champion_tags.get("data_hash") != data_hash and rescore is not None:
            ours, theirs = rescore(champion_tags)
        for key in PROMOTION_METRICS:
            # Version tags hold figures rounded to 4 places: compare at that precision, so
            # that an equal figure is never taken for a worse one.
            if key in theirs and round(ours[key], 4) < round(theirs[key], 4):
                return False
    client.set_registered_model_alias(registered_model, CHAMPION_ALIAS, version)
    return True


def download_classifier(model_uri: str) -> SentenceClassifier:
    """Load the SentenceClassifier of an MLflow model URI (models:/name@alias, runs:/…)."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp))
        found = list(local.rglob(MODEL_ARTIFACT))
        if not found:
            raise FileNotFoundError(f"{model_uri} holds no {MODEL_ARTIFACT}")
        return load_classifier(found[0])


def export_model(model_uri: str, registered_model: str = REGISTERED_MODEL,
                 destination: Path = DEFAULT_MODEL_FILE, card: Path = MODEL_CARD_FILE) -> dict:
    """Copy a registered model into models/ with its model card."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    client = _client()
    if "@" in model_uri:
        version = client.get_model_version_by_alias(registered_model, model_uri.rsplit("@", 1)[1])
    else:
        version = client.get_model_version(registered_model, model_uri.rstrip("/").rsplit("/", 1)[1])
    classifier = download_classifier(f"models:/{registered_model}/{version.version}")
    # Registry numbers count one tracking store's versions (a fresh clone's store starts at 1
    # again); the run's date orders versions across stores and its id makes the label unique
    # (cached scores key on it).
    run_id = str(classifier.info.get("run_id", ""))
    started = client.get_run(run_id).info.start_time if run_id else None
    day = datetime.fromtimestamp(started / 1000, tz=timezone.utc).strftime("%Y%m%d") if started else "undated"
    label = f"{registered_model}-{day}-{run_id[:8]}"
    classifier.info = {**classifier.info, "version": label,
                       "registered_model": registered_model, "registry_version": version.version}
    tmp = destination.with_suffix(".tmp")
    classifier.save(tmp)
    shutil.move(tmp, destination)  # never leave a half-written default model behind
    model_card = {
        "name": registered_model,
        "version": classifier.info["version"],
        "metrics": classifier.info.get("metrics", {}),
        "evaluation": "nested leave-one-document-out cross-validation; headline figures pooled over annual reports",
        "data_hash": classifier.info.get("data_hash"),
        "taxonomy_version": classifier.info.get("taxonomy_version"),
        "area_features": classifier.info.get("area_features"),
        "category_features": classifier.info.get("category_features"),
        "run_id": classifier.info.get("run_id"),
        "file": destination.name,
    }
    card.write_text(json.dumps(model_card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return model_card
