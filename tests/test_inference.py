"""The compiled predictor gives the fitted Pipeline's probabilities, without scikit-learn."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from fazhi.inference import compile_pipeline
from fazhi.labels import load_labels
from fazhi.model import build_pipeline
from fazhi.paths import REPORTS_DIR
from fazhi.splitter import split_sentences, split_units

UNITS = load_labels()
# Every labelled text, every unit and sentence of the seed reports, and a few odd ones.
SENTENCES = [u.text for u in UNITS] + [
    s for path in sorted(REPORTS_DIR.glob("*.txt")) for text in [path.read_text(encoding="utf-8")]
    for s in [u.text for u in split_units(text)] + split_sentences(text)] + [
    "", "abc", "？", " ", "a b\tc", "行\r\n政", "1.2.3件", "全面落实《法治政府建设实施纲要（2021—2025年）》，抽查案卷240卷。"]


@pytest.mark.parametrize("feature_set", ["char+kw", "word+char+kw", "word+char+kw+cues"])
def test_compiled_area_pipeline_equals_the_fitted_one(feature_set):
    pipeline = build_pipeline(feature_set).fit([u.text for u in UNITS], [u.area for u in UNITS])
    compiled = compile_pipeline(pipeline)
    assert list(compiled.classes_) == list(pipeline.classes_)
    np.testing.assert_allclose(compiled.predict_proba(SENTENCES), pipeline.predict_proba(SENTENCES),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("feature_set", ["word+cues", "char+cues", "word+char+cues", "anchor", "word+char+cues+rare"])
def test_compiled_category_pipeline_equals_the_fitted_one(feature_set):
    labelled = [u for u in UNITS if u.category]
    pipeline = build_pipeline(feature_set).fit([u.text for u in labelled], [u.category for u in labelled])
    compiled = compile_pipeline(pipeline)
    np.testing.assert_allclose(compiled.predict_proba(SENTENCES), pipeline.predict_proba(SENTENCES),
                               rtol=0, atol=1e-12)
    assert list(compiled.predict(SENTENCES)) == list(pipeline.predict(SENTENCES))


def test_two_pipelines_sharing_their_counters_give_the_fitted_probabilities(tmp_path):
    """The committed settings (area word+char+kw, category word+char+cues+rare) compiled into one
    classifier: their word blocks share one counter, their character blocks another, the
    rarity block reads the word counter's look-ups, and each batch that both read (as
    `SentenceClassifier.predict` gives them, in chunks) is counted once; each pipeline's
    probabilities are its fitted Pipeline's, also after a save and load."""
    from fazhi.featurize import TextBatch
    from fazhi.inference import CharBlock, RareBlock, WordBlock
    from fazhi.model import PREDICT_CHUNK, SentenceClassifier, load_classifier
    from fazhi.taxonomy import load_taxonomy

    area = build_pipeline("word+char+kw").fit([u.text for u in UNITS], [u.area for u in UNITS])
    labelled = [u for u in UNITS if u.category]
    category = build_pipeline("word+char+cues+rare").fit([u.text for u in labelled], [u.category for u in labelled])
    taxonomy = load_taxonomy()
    classifier = SentenceClassifier(compile_pipeline(area), compile_pipeline(category),
                                    area_ids=taxonomy.area_ids, off_topic_area=taxonomy.off_topic_id)
    classifier.save(tmp_path / "model.pkl")
    expected_area, expected_category = area.predict_proba(SENTENCES), category.predict_proba(SENTENCES)
    for model in (classifier, load_classifier(tmp_path / "model.pkl")):
        for kind in (WordBlock, CharBlock):
            (a,), (c,) = ([b for b in p.blocks if isinstance(b, kind)]
                          for p in (model.area_pipeline, model.category_pipeline))
            assert a.counter is c.counter and a.columns is not None and c.columns is not None
        (rare,) = [b for b in model.category_pipeline.blocks if isinstance(b, RareBlock)]
        word_counter = next(b.counter for b in model.area_pipeline.blocks if isinstance(b, WordBlock))
        assert rare.vocabulary.counter is word_counter
        got_area, got_category = [], []
        for start in range(0, len(SENTENCES), PREDICT_CHUNK):
            batch = TextBatch(SENTENCES[start:start + PREDICT_CHUNK])
            got_area.append(model.area_pipeline.predict_proba(batch))
            got_category.append(model.category_pipeline.predict_proba(batch))
        np.testing.assert_allclose(np.vstack(got_area), expected_area, rtol=0, atol=1e-12)
        np.testing.assert_allclose(np.vstack(got_category), expected_category, rtol=0, atol=1e-12)
        # The fitted transformer was not linked by compiling (it looks words up itself).
        assert getattr(category.named_steps["features"].transformer_list[-1][1].vocabulary_, "counter", None) is None
        # Each alone (a batch of its own, nothing shared with the other) gives the same.
        np.testing.assert_allclose(model.category_pipeline.predict_proba(SENTENCES[:300]), expected_category[:300],
                                   rtol=0, atol=1e-12)


def test_serving_the_committed_model_imports_neither_scikit_learn_nor_scipy_nor_joblib():
    probe = ("import sys\nfrom fazhi.model import get_classifier\nfrom fazhi.scoring import score_report\n"
             "from fazhi.paths import REPORTS_DIR\n"
             "text = sorted(REPORTS_DIR.glob('*.txt'))[0].read_text(encoding='utf-8')\n"
             "assert score_report(get_classifier(), text)['score'] is not None\n"
             "print(sorted(m for m in ('sklearn', 'scipy', 'joblib') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_model_file_of_the_earlier_layout_predicts_the_same(tmp_path):
    """Model files compiled before (joblib, compressed; a column and an idf of 0 for every
    character bucket; no word lookup tables, no counters shared by the two pipelines, no
    weights made for them) still load, and predict the same probabilities."""
    import joblib

    from fazhi.inference import CharBlock, WordBlock
    from fazhi.model import load_classifier
    from fazhi.paths import DEFAULT_MODEL_FILE

    model = load_classifier(DEFAULT_MODEL_FILE)
    expected = model.area_scores(SENTENCES)
    pipeline = model.area_pipeline
    columns, start = [], 0
    for block in pipeline.blocks:
        if isinstance(block, CharBlock):
            full = np.zeros(block.n_buckets)
            full[block.buckets] = block.idf
            columns.append(start + block.buckets)
            start += block.n_buckets
            block.idf, block.buckets = full, None
        else:
            columns.append(np.arange(start, start + block.width))
            start += block.width
        if isinstance(block, (CharBlock, WordBlock)):  # no counters, shared or not
            block.counter = block.columns = None
    coef = np.zeros((pipeline.coef.shape[0], start))
    coef[:, np.concatenate(columns)] = pipeline.coef
    pipeline.coef = coef
    del pipeline._made  # nor weights made for them
    joblib.dump(model, tmp_path / "old.joblib", compress=3)
    old = load_classifier(tmp_path / "old.joblib")
    np.testing.assert_allclose(old.area_scores(SENTENCES), expected, rtol=0, atol=1e-12)


def test_cue_block_keeps_the_columns_it_was_trained_with():
    from fazhi.featurize import CUE_NAMES
    from fazhi.inference import CueBlock

    labelled = [u for u in UNITS if u.category]
    pipeline = build_pipeline("word+cues").fit([u.text for u in labelled], [u.category for u in labelled])
    (block,) = [b for b in compile_pipeline(pipeline).blocks if isinstance(b, CueBlock)]
    assert block.names == tuple(CUE_NAMES)
    # A block pickled before blocks named their columns (no `names` in its state) still
    # yields the nine cues that model was fitted on, not today's longer list.
    legacy = CueBlock.__new__(CueBlock)
    assert legacy.transform(SENTENCES[:5]).shape == (5, 9)


def test_rounding_a_whole_array_rounds_as_python_does():
    from fazhi.model import rounded

    rng = np.random.default_rng(12)
    values = np.concatenate([rng.random(100_000), np.arange(0, 20_001) / 20_000,  # every half of 1e-4
                             [0.0, 1.0, 0.00005, 0.12345, 0.99995, 0.30000000000000004]])
    assert rounded(values, 4).tolist() == [round(v, 4) for v in values.tolist()]


def test_predicting_in_chunks_changes_nothing(monkeypatch):
    from fazhi import model as model_module
    from fazhi.splitter import section_contexts

    classifier = model_module.get_classifier()
    units = split_units(sorted(REPORTS_DIR.glob("*.txt"))[0].read_text(encoding="utf-8"))
    texts, contexts = [u.text for u in units], section_contexts(units)
    whole = classifier.predict(SENTENCES[:500]), classifier.predict(texts, contexts)
    monkeypatch.setattr(model_module, "PREDICT_CHUNK", 7)
    assert (classifier.predict(SENTENCES[:500]), classifier.predict(texts, contexts)) == whole
