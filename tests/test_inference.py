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
from fazhi.splitter import split_sentences

UNITS = load_labels()
SENTENCES = [s for path in sorted(REPORTS_DIR.glob("*.txt"))
             for s in split_sentences(path.read_text(encoding="utf-8"))] + [
    "", "abc", "？", "全面落实《法治政府建设实施纲要（2021—2025年）》，抽查案卷240卷。"]


@pytest.mark.parametrize("feature_set", ["char+kw", "word+char+kw+cues"])
def test_compiled_area_pipeline_equals_the_fitted_one(feature_set):
    pipeline = build_pipeline(feature_set).fit([u.text for u in UNITS], [u.area for u in UNITS])
    compiled = compile_pipeline(pipeline)
    assert list(compiled.classes_) == list(pipeline.classes_)
    np.testing.assert_allclose(compiled.predict_proba(SENTENCES), pipeline.predict_proba(SENTENCES),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("feature_set", ["word+cues", "char+cues"])
def test_compiled_category_pipeline_equals_the_fitted_one(feature_set):
    labelled = [u for u in UNITS if u.category]
    pipeline = build_pipeline(feature_set).fit([u.text for u in labelled], [u.category for u in labelled])
    compiled = compile_pipeline(pipeline)
    np.testing.assert_allclose(compiled.predict_proba(SENTENCES), pipeline.predict_proba(SENTENCES),
                               rtol=0, atol=1e-12)
    assert list(compiled.predict(SENTENCES)) == list(pipeline.predict(SENTENCES))


def test_serving_the_committed_model_does_not_import_scikit_learn():
    probe = ("import sys\nfrom fazhi.model import get_classifier\nfrom fazhi.scoring import score_report\n"
             "from fazhi.paths import REPORTS_DIR\n"
             "text = sorted(REPORTS_DIR.glob('*.txt'))[0].read_text(encoding='utf-8')\n"
             "assert score_report(get_classifier(), text)['score'] is not None\n"
             "print('sklearn' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


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
