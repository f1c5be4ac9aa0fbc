"""Specificity cues: what counts as an anchor, per the labelling guide."""
from __future__ import annotations

import numpy as np
import pytest

from fazhi.featurize import CUE_NAMES, GENERIC_TITLE_CUE, RareVocabulary, cue_counts, cue_matrix
from fazhi.taxonomy import load_taxonomy
from fazhi.tokenizer import normalize

GENERIC = tuple(normalize(t) for t in load_taxonomy().generic_titles)


@pytest.mark.parametrize("sentence", [
    "全面落实《法治政府建设实施纲要（2021—2025年）》。",
    "深入贯彻《法治政府建设实施纲要(2015-2020年)》精神。",
    "按照《纲要》要求，扎实推进依法行政。",
])
def test_the_outlines_own_title_is_not_an_anchor(sentence):
    counts = cue_counts(normalize(sentence), GENERIC)
    assert counts["title"] == 0 and counts[GENERIC_TITLE_CUE] == 1


def test_other_titles_stay_anchors_next_to_the_outline():
    sentence = "为贯彻《纲要》，区政府印发《某某区重大行政决策程序规定》。"
    counts = cue_counts(normalize(sentence), GENERIC)
    assert counts["title"] == 1 and counts[GENERIC_TITLE_CUE] == 1
    # A title that merely contains the outline's words is a different document.
    assert cue_counts(normalize("印发《某某区贯彻法治政府建设实施纲要工作方案》。"), GENERIC)["title"] == 1


def test_without_generic_titles_every_title_counts():
    counts = cue_counts(normalize("全面落实《法治政府建设实施纲要（2021—2025年）》。"))
    assert counts["title"] == 1 and counts[GENERIC_TITLE_CUE] == 0


@pytest.mark.parametrize("sentence", ["抽查行政执法案卷240卷。", "法律知识培训不少于4学时。",
                                      "新建公共法律服务站3所。", "办理时限压缩至5天。",
                                      "组建城市管理等5支综合行政执法队伍。", "136艘渔船全部退捕上岸。",
                                      "明确12类轻微违法行为不予处罚。"])
def test_counts_in_the_units_reports_use(sentence):
    assert cue_counts(normalize(sentence))["count"] == 1


@pytest.mark.parametrize("sentence, named_act", [
    ("市公安局建立违停执法提醒纠正机制。", 1),
    ("永川区制定了行政执法事项清单。", 1),
    ("万州区分水镇建立了矛盾纠纷调解室。", 1),
    # Clarification 9: a named actor with only a commitment stays a slogan.
    ("市司法局将进一步建立健全执法协调机制。", 0),
    ("区司法局积极推动建立联合执法制度。", 0),
    # "我区" and "结合区情" name no actor.
    ("确保我区制定的规范性文件符合上位法精神。", 0),
    ("并结合区情出台了专项考核措施。", 0),
])
def test_a_named_actors_completed_act(sentence, named_act):
    assert cue_counts(normalize(sentence))["actor_act"] == named_act


@pytest.mark.parametrize("sentence, completed", [
    ("各镇街已建成公共法律服务工作站。", 1),
    ("区司法所荣获全国模范司法所称号。", 1),
    ("先后出台行政执法公示等配套制度。", 1),
    # A state claimed, a commitment or a routine is not work done.
    ("依法行政工作已形成良好格局。", 0),
    ("依法行政已经成为各部门的自觉行动。", 0),
    ("各镇街已经建成公共法律服务工作站。", 1),
    ("区政府将进一步完善行政复议制度。", 0),
    ("持续推进严格规范公正文明执法。", 0),
])
def test_work_already_done(sentence, completed):
    assert cue_counts(normalize(sentence))["completed"] == completed


@pytest.mark.parametrize("sentence, dated", [
    ("2018年3月，召开区政府常务会议。", 1),
    ("5月12日开展防灾减灾宣传。", 1),
    # A deadline the government sets itself is the guide's "date or deadline" (clarification 3).
    ("原则上所有目标任务务必在2019年年底前完成。", 1),
    ("2022年上半年完成执法大队全员轮训。", 1),
    ("拟于2022年第三季度提交省政府常务会议审议。", 1),
    ("于11月底前形成评估报告。", 1),
    ("截至2016年末，全区仍有46名执法人员未取得执法证件。", 1),
    # The reporting year alone, the outline's own targets and deadlines set for everyone are not.
    ("2019年，我区深入推进依法行政。", 0),
    ("到2020年，基本建成法治政府。", 0),
    ("每年第一季度报告上一年度法治政府建设情况。", 0),
])
def test_a_date_or_a_deadline(sentence, dated):
    assert cue_counts(normalize(sentence))["date"] == dated


def test_cue_matrix_has_one_column_per_cue():
    matrix = cue_matrix(["抽查案卷240卷。", "切实做好行政应诉工作。"], GENERIC)
    assert matrix.shape == (2, len(CUE_NAMES))
    assert np.all(matrix[1] == 0)


@pytest.mark.parametrize("sentence, anchored", [
    ("2017年，区政府办理行政复议案件43件，全部在法定时限内办结。", 1),
    ("印发《关于进一步健全完善“两法衔接”工作机制的意见》，建立联席会议制度。", 1),
    ("全面落实《法治政府建设实施纲要（2021—2025年）》。", 0),   # generic title only
    ("2019年，我区深入推进依法行政。", 0),                         # the reporting year alone
    ("切实做好行政应诉工作。", 0),
])
def test_anchored_is_the_guides_anchor_rule(sentence, anchored):
    from fazhi.featurize import ANCHORED_CUE

    assert cue_counts(normalize(sentence), GENERIC)[ANCHORED_CUE] == anchored


def test_char_ngrams_are_hashed_once_per_batch():
    from fazhi.featurize import TextBatch, char_ngram_counts, char_ngram_hashes

    texts = ["抽查行政执法案卷240卷。", "切实做好行政应诉工作。"]
    alone = char_ngram_counts(texts, (1, 3), 2 ** 10)
    batch = TextBatch(texts)
    first = char_ngram_hashes(batch, (1, 3), 2 ** 10)
    assert char_ngram_hashes(batch, (1, 3), 2 ** 10) is first           # the area and category pipelines
    assert char_ngram_hashes(batch, (1, 2), 2 ** 10) is not first       # other settings, other n-grams
    assert char_ngram_hashes(list(texts), (1, 3), 2 ** 10) is not first  # nothing kept beyond the batch
    counted = char_ngram_counts(batch, (1, 3), 2 ** 10)
    for a, b in ((counted.rows, alone.rows), (counted.cols, alone.cols), (counted.values, alone.values)):
        assert np.array_equal(a, b)


def test_cues_found_in_a_batch_are_each_texts_own():
    """Each cue's expression runs only on the texts that hold what its matches need: the
    counts equal searching every text with every expression."""
    import re

    from fazhi.featurize import ANCHORED_BY, ANCHORED_CUE, CUES, _is_generic_title, cue_count_arrays
    from fazhi.labels import load_labels
    from fazhi.paths import REPORTS_DIR
    from fazhi.splitter import split_units

    texts = [normalize(u.text) for u in load_labels()] + [
        normalize(u.text) for path in sorted(REPORTS_DIR.glob("*.txt"))
        for u in split_units(path.read_text(encoding="utf-8"))] + [
        "", "百分之五十", "增长12％", "共5.5万元", "〔2019〕3号", "3月5日", "“某某”", "区司法局\n制定了办法",
        # Digits that are not ASCII (\\d matches them), units and acts at the ends of a text.
        "办结٣件", "培训४学时", "𝟐𝟎𝟏𝟗年𝟑月", "[２０１９]７号", "川渝两地税务部门联合开展", "某某县建成", "5", "件5",
        "2019年", "3月", "12%", "百分", "《", "《》", "《法治》", "区建", "开展", "已", "已经", "已建", "被评", "先后"]
    found = cue_count_arrays(texts, GENERIC)
    for name, pattern in CUES.items():
        if name != "title":
            assert found[name].tolist() == [len(pattern.findall(t)) for t in texts], name
    titles = [CUES["title"].findall(t) for t in texts]
    generic = [sum(_is_generic_title(x, GENERIC) for x in ts) for ts in titles]
    assert found[GENERIC_TITLE_CUE].tolist() == generic
    assert found["title"].tolist() == [len(ts) - g for ts, g in zip(titles, generic)]
    anchored = [int(any(CUES[n].search(t) for n in ANCHORED_BY if n != "title")
                    or any(not _is_generic_title(x, GENERIC) for x in ts)) for t, ts in zip(texts, titles)]
    assert found[ANCHORED_CUE].tolist() == anchored
    assert re.search("\n", "".join(texts))  # a text with a newline of its own is among them


def test_decimal_digits_are_what_backslash_d_matches():
    """The digit mask that the cue counts use is `\\d` of Python's re, over every code point."""
    import re

    from fazhi.featurize import _decimal_digits

    points = np.array([c for c in range(0x110000) if not 0xD800 <= c < 0xE000], dtype=np.uint32)
    text = "".join(map(chr, points.tolist()))
    expected = np.zeros(len(points), dtype=bool)
    expected[[m.start() for m in re.finditer(r"\d", text)]] = True
    assert np.array_equal(_decimal_digits(points), expected)


def test_counting_entries_with_wide_keys():
    """Entries are counted by a 32-bit key where rows and columns fit, else a 64-bit one: the same."""
    from collections import Counter

    from fazhi.featurize import count_entries

    rng = np.random.default_rng(3)
    for shape in ((4096, 42215), (5, 3), (3_000_000, 2 ** 20), (1, 2 ** 40)):
        rows = rng.integers(0, shape[0], 5000)
        cols = rng.integers(0, min(shape[1], 50), 5000) * (shape[1] // 50 or 1)
        counted = count_entries(rows, cols, shape)
        expected = sorted(Counter(zip(rows.tolist(), cols.tolist())).items())
        assert list(zip(counted.rows.tolist(), counted.cols.tolist())) == [pair for pair, _ in expected]
        assert counted.values.tolist() == [float(n) for _, n in expected]


# --- Rarity of a sentence's words (RareVocabulary) -------------------------------------------

STOCK = ["进一步加强执法监督工作。", "不断加强执法监督，推进依法行政。", "全面加强执法监督，深化依法行政。",
         "持续加强执法监督工作，推进依法行政。"]


def test_words_many_fitting_texts_hold_are_common_and_others_rare():
    vocabulary = RareVocabulary(STOCK, max_count=2)
    assert vocabulary.flags["加强"] == RareVocabulary._COMMON     # in all four texts
    assert vocabulary.flags["深化"] == RareVocabulary._RARE       # in one
    # Words 加强 执法监督 开展 利剑 专项 行动: the first two are common, the other four never seen.
    share, count = vocabulary.matrix(["加强执法监督，开展利剑专项行动。"])[0]
    assert share == pytest.approx(4 / 6) and count == pytest.approx(np.log1p(4))
    assert vocabulary.matrix(["加强执法监督。"])[0].tolist() == [0.0, 0.0]


def test_a_word_repeated_in_one_fitting_text_counts_once():
    vocabulary = RareVocabulary(["青禾青禾青禾青禾。", "推进工作。"], max_count=1)
    assert vocabulary.flags["青禾"] == RareVocabulary._RARE


def test_single_characters_and_numbers_are_not_words():
    vocabulary = RareVocabulary(STOCK, max_count=2)
    assert vocabulary.matrix(["的 2023 了 43"])[0].tolist() == [0.0, 0.0]
    # Every word of a sentence unseen: the whole share is rare.
    share, count = vocabulary.matrix(["长江经济带化工企业"])[0]
    assert share == 1.0 and count > 0


def test_rarity_of_a_batch_is_each_texts_own():
    vocabulary = RareVocabulary(STOCK, max_count=2)
    texts = ["加强执法监督。", "长江经济带化工企业污染整治。", "", "加强长江经济带执法。"]
    together = vocabulary.matrix(texts)
    assert together.shape == (4, 2)
    np.testing.assert_array_equal(together, np.vstack([vocabulary.matrix([t]) for t in texts]))


def test_rarity_read_through_a_word_counter_is_the_same():
    from fazhi.featurize import VocabularyCounter, word_tokens

    fitting = STOCK + ["青禾镇开展2023年“清源行动”。", "印发《青禾镇5G基站建设方案》。"]
    vocabulary = RareVocabulary(fitting, max_count=1)
    words = {token for text in fitting for token in word_tokens(normalize(text))}
    texts = ["加强执法监督，开展利剑专项行动。", "青禾镇2024年5G基站、6G试点。", "", "的了 2023 0 43件", *fitting]
    alone = vocabulary.matrix(texts)
    vocabulary.link(VocabularyCounter({w: i for i, w in enumerate(sorted(words))}, (1, 1)))
    np.testing.assert_array_equal(vocabulary.matrix(texts), alone)
