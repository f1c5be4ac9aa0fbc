"""The sentence classifier: area (11 classes) and category (concrete vs. slogan).

Both tasks are scikit-learn Pipelines (features → calibrated linear classifier), fitted in
training. The fitted pair travels as one `SentenceClassifier`, loaded once per process; the
committed model holds them compiled to numpy (fazhi/inference.py), so loading and predicting
never import scikit-learn.

The model file is a plain, uncompressed pickle (protocol 5, ~16 MB), which `pickle` loads in
~25-40 ms, without importing joblib (~0.14 s of every start) or decompressing anything; joblib
reads it as well. Files that joblib wrote before (compressed) still load, through joblib.
"""
from __future__ import annotations

import pickle
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from fazhi.featurize import TextBatch
from fazhi.paths import DEFAULT_MODEL_FILE

CONCRETE = "concrete"
SLOGAN = "slogan"
# Folds of the internal cross-validation that fits the sigmoid calibration.
CALIBRATION_FOLDS = 3
# Texts featurized together: the arrays of a few thousand sentences stay in the processor's
# caches and in memory the process already has, where those of 20,000 sentences cost a few
# tenths of a second more (page faults, cache misses); and memory stays bounded however many
# texts come. 2,048 measured best of 1,024-4,096: ~10 % faster than 4,096 on 1 M characters
# (benchmarks/RESULTS.md).
PREDICT_CHUNK = 2048


class ModelError(RuntimeError):
    """A model file is missing or unusable."""


def build_pipeline(feature_set: str, *, C: float = 0.5, max_df: float = 1.0, char_ngram_max: int = 3,
                   class_weight: str | None = None, keyword_sets: tuple[str, ...] = ("keywords",)):
    """Features, then a linear SVM with sigmoid-calibrated probabilities; `class_weight="balanced"`
    reweights classes (measured in docs/model-comparison.md: it costs area macro-F1, so training's
    default is None)."""
    # scikit-learn is needed to fit, not to predict: imported here, not at module level.
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    from fazhi.features import build_features

    svm = LinearSVC(C=C, class_weight=class_weight)
    return Pipeline([
        ("features", build_features(feature_set, max_df=max_df, char_ngram_max=char_ngram_max,
                                    keyword_sets=keyword_sets)),
        # One SVM fitted on all data, calibrated on cross-validated decisions (ensemble=False):
        # a third of the prediction cost of the default ensemble of one SVM per fold.
        ("clf", CalibratedClassifierCV(svm, method="sigmoid", cv=CALIBRATION_FOLDS, ensemble=False)),
    ])


def section_means(own: np.ndarray, sections: Sequence[str]) -> np.ndarray:
    """Each row's section average: the mean of the rows that share its (non-empty) section key."""
    means = np.zeros_like(own)
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(sections):
        if key:
            groups.setdefault(key, []).append(i)
    for rows in groups.values():
        means[rows] = own[rows].mean(axis=0)
    return means


def structure_parts(predict_proba, texts: Sequence[str], contexts: Sequence[str], own: np.ndarray | None = None):
    """What the report's structure mixes for each text: its own probabilities (unless given),
    its section outline's (each distinct outline classified once; zeros without one), the
    average of its section (the texts that share its outline), and whether it has an outline."""
    if own is None:
        own = predict_proba(texts if isinstance(texts, list) else list(texts))
    distinct = sorted({c for c in contexts if c})
    by_context = dict(zip(distinct, predict_proba(distinct))) if distinct else {}
    outline = np.array([by_context[c] if c else np.zeros(own.shape[1]) for c in contexts]).reshape(own.shape)
    return own, outline, section_means(own, contexts), np.array([bool(c) for c in contexts], dtype=bool)


def combine_with_structure(own: np.ndarray, context: np.ndarray, section: np.ndarray, has_context: np.ndarray,
                           context_weight: float, section_weight: float = 0.0) -> np.ndarray:
    """Mix a sentence's area probabilities with its section outline's and with the average of
    its section's sentences: (own + wc·outline + ws·section) / (1 + wc + ws).

    A report is an outline: the guide sends ties to the section heading's area, and the
    sentences of one section mostly share an area, so the section decides where the sentence
    alone is unsure and leaves it alone where it is sure.
    """
    mixed = own.copy()
    rows = np.asarray(has_context, dtype=bool)
    mixed[rows] = ((own[rows] + context_weight * context[rows] + section_weight * section[rows])
                   / (1.0 + context_weight + section_weight))
    return mixed


@dataclass
class SentenceClassifier:
    """A fitted area pipeline and category pipeline, with what describes them."""

    area_pipeline: object       # a fitted Pipeline or its CompiledPipeline: predict_proba, classes_
    category_pipeline: object
    area_ids: list[str]            # all taxonomy areas, in taxonomy order
    off_topic_area: str            # the area whose sentences get no category
    context_weight: float = 0.0    # weight of the section outline's area probabilities (chosen by CV)
    section_weight: float = 0.0    # weight of the section's average sentence probabilities (chosen by CV)
    info: dict = field(default_factory=dict)  # version, metrics, data hash, taxonomy version

    def __post_init__(self):
        from fazhi.inference import share_counters

        # The two pipelines' word (and character) blocks count a batch's n-grams once.
        share_counters([self.area_pipeline, self.category_pipeline])

    @property
    def version(self) -> str:
        return str(self.info.get("version", "unversioned"))

    def _area_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities over all taxonomy areas (areas unseen in training get 0)."""
        proba = self.area_pipeline.predict_proba(texts if isinstance(texts, list) else list(texts))
        scores = np.zeros((len(texts), len(self.area_ids)))
        for j, area in enumerate(self.area_pipeline.classes_):
            scores[:, self.area_ids.index(area)] = proba[:, j]
        return scores

    def area_scores(self, texts: Sequence[str], contexts: Sequence[str] | None = None) -> np.ndarray:
        """Area probabilities, mixed with each non-empty context's (its section outline) and
        with the average of the texts that share that context (its section)."""
        return self._with_structure(self._area_proba(texts), texts, contexts)

    def _with_structure(self, own: np.ndarray, texts: Sequence[str], contexts: Sequence[str] | None) -> np.ndarray:
        section_weight = getattr(self, "section_weight", 0.0)  # absent from older model files
        if not contexts or not any(contexts) or (self.context_weight <= 0 and section_weight <= 0):
            return own
        own, outline, section, has_context = structure_parts(self._area_proba, texts, contexts, own)
        return combine_with_structure(own, outline, section, has_context, self.context_weight, section_weight)

    def predict(self, texts: Sequence[str], contexts: Sequence[str] | None = None) -> list[dict]:
        """One dict per text: text, area, area_scores, category, concrete_prob."""
        texts = list(texts)
        if not texts:
            return []
        if len(texts) > 256:
            _settle_allocator()
        concrete_col = list(self.category_pipeline.classes_).index(CONCRETE)
        own, concrete = [], []
        for start in range(0, len(texts), PREDICT_CHUNK):
            batch = TextBatch(texts[start:start + PREDICT_CHUNK])  # both pipelines read its tokens
            own.append(self._area_proba(batch))
            concrete.append(self.category_pipeline.predict_proba(batch)[:, concrete_col])
        scores = self._with_structure(np.vstack(own), texts, contexts)
        concrete = np.concatenate(concrete)
        areas = [self.area_ids[i] for i in scores.argmax(axis=1).tolist()]
        on_topic = [area != self.off_topic_area for area in areas]
        rounded_scores = rounded(scores, 4).tolist()
        rounded_concrete = rounded(concrete, 4).tolist()
        ids = self.area_ids
        return [{"text": text, "area": area, "area_scores": dict(zip(ids, row)),
                 "category": (CONCRETE if p >= 0.5 else SLOGAN) if topical else None,
                 "concrete_prob": r if topical else None}
                for text, area, row, p, r, topical in zip(texts, areas, rounded_scores, concrete.tolist(),
                                                          rounded_concrete, on_topic)]

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            pickle.dump(self, fh, protocol=5)
        return path


_settled = []


def _settle_allocator() -> None:
    """Once per process, before its first large prediction: allocate 16 MiB and free it.

    Featurizing a chunk makes and frees numpy arrays of a few MB. glibc's malloc serves a
    block that large by a fresh mmap, whose pages fault in (zeroed) on first touch, until a
    block mmapped earlier is freed: then blocks up to that size come from the heap and are
    reused. Which arrays happened to be freed first decided it: measured on 1 M characters,
    either ~4k or ~50k page faults per call (0.15 s of system time in the second case, 15 %
    of the call). An untouched 16 MiB block, freed, sets that size (no pages are touched);
    the heap then keeps up to twice it (~20 MB more resident after a large prediction).
    Elsewhere than glibc it is an allocation of nothing."""
    if not _settled:
        np.empty(16 << 20, dtype=np.uint8)
        _settled.append(True)


def rounded(values: np.ndarray, places: int) -> np.ndarray:
    """Python's round(x, places) of every element (the double nearest the decimal rounding of
    x's exact value), for a whole array at once. Scaling and rounding with numpy gives the same
    digits except within rounding error of a half, where Python's round decides."""
    scale = 10.0 ** places
    scaled = values * scale
    result = np.rint(scaled) / scale
    near_half = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) < 1e-6
    for index in zip(*np.nonzero(near_half)):
        result[index] = round(float(values[index]), places)
    return result


# A pickle of protocol 2 or later starts with the PROTO opcode; joblib's compressed files with
# a zlib header.
_PICKLE_START = b"\x80"


def load_classifier(path: Path | str) -> SentenceClassifier:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"no model file at {path}")
    try:
        with open(path, "rb") as fh:
            if fh.read(1) == _PICKLE_START:
                fh.seek(0)
                model = pickle.load(fh)
            else:  # a model file joblib wrote (compressed), before models were plain pickles
                import joblib

                model = joblib.load(path)
    except Exception as exc:  # a truncated or foreign file: say which, not a traceback
        raise ModelError(f"cannot load model {path}: {exc}") from exc
    if not isinstance(model, SentenceClassifier):
        raise ModelError(f"{path} does not hold a fazhi SentenceClassifier")
    return model


_cache: dict[str, SentenceClassifier] = {}
_cache_lock = threading.Lock()


def get_classifier(path: Path | str = DEFAULT_MODEL_FILE) -> SentenceClassifier:
    """The classifier at `path`, loaded once per process."""
    key = str(Path(path).resolve())
    with _cache_lock:
        if key not in _cache:
            _cache[key] = load_classifier(path)
        return _cache[key]
