"""Actor invariance of the committed model: replacing 我区/区X局 by another level's actor must
not flip what a labelled concrete sentence is."""
from __future__ import annotations

import pytest

from fazhi.labels import load_labels
from fazhi.model import get_classifier
from training.invariance import actor_flip_rates, actor_variants

# The committed model's rates are reported in docs/model-comparison.md; these bounds hold it there.
MAX_CATEGORY_FLIP_RATE = 0.05
MAX_AREA_FLIP_RATE = 0.05


def test_actor_variants_replace_the_actor_at_every_level():
    variants = actor_variants("区司法局指导区财政局完善了法制审核制度，我区办理复议案件43件。")
    assert "市司法局指导市财政局完善了法制审核制度，我区办理复议案件43件。" in variants
    assert "区司法局指导区财政局完善了法制审核制度，我县办理复议案件43件。" in variants
    assert actor_variants("市公安局破获案件327起。") == []


@pytest.fixture(scope="module")
def rates():
    return actor_flip_rates(get_classifier(), load_labels())


def test_there_are_enough_sentences_to_measure(rates):
    assert rates["sentences"] >= 40 and rates["variants"] >= 120


def test_category_does_not_follow_the_actor(rates):
    assert rates["category_flip_rate"] <= MAX_CATEGORY_FLIP_RATE, rates["examples"]


def test_area_does_not_follow_the_actor(rates):
    assert rates["area_flip_rate"] <= MAX_AREA_FLIP_RATE, rates["examples"]
