"""Tests for training.annex: the annex table of document 003 parsed into its 174 sub-measures."""
import json
import re

import pytest

from fazhi.taxonomy import load_taxonomy
from training.annex import DEFAULT_DOC, DEFAULT_OUT, EXPECTED_SUB_MEASURES, parse_annex


@pytest.fixture(scope="module")
def doc() -> str:
    return DEFAULT_DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def subs(doc) -> list[dict]:
    return parse_annex(doc)


def by_number(subs, number):
    return subs[number - 1]


def no_space(s: str) -> str:
    return re.sub(r"\s+", "", s)


def test_numbered_1_to_174(subs):
    assert [s["number"] for s in subs] == list(range(1, EXPECTED_SUB_MEASURES + 1))


def test_main_measures_run_1_to_41_in_order(subs):
    measures = [s["measure"] for s in subs]
    assert measures == sorted(measures)
    assert set(measures) == set(range(1, 42))
    # Main measures repeated after a page break ("5.加强市场监管。", "6.创新社会治理" without 。).
    assert by_number(subs, 24)["measure"] == by_number(subs, 25)["measure"] == 5
    assert by_number(subs, 32)["measure"] == by_number(subs, 33)["measure"] == 6


def test_areas_come_from_the_sections(subs):
    taxonomy = load_taxonomy()
    assert {s["area"] for s in subs} <= set(taxonomy.area_ids)
    for s in subs:
        assert s["area"] == taxonomy.area_for_outline_part(s["section"])
    first_of_section = {
        1: ("一、依法全面履行政府职能", "functions"),
        46: ("二、完善依法行政制度体系", "rules"),
        52: ("三、推进行政决策科学化、民主化、法治化", "decisions"),
        65: ("四、坚持严格规范公正文明执法", "enforcement"),
        94: ("五、强化对行政权力的制约和监督", "oversight"),
        120: ("六、依法有效化解社会矛盾纠纷", "disputes"),
        142: ("七、全面提高政府工作人员法治思维和依法行政能力", "leadership"),
        157: ("八、组织保障和落实机制", "leadership"),
    }
    for number, (section, area) in first_of_section.items():
        assert (by_number(subs, number)["section"], by_number(subs, number)["area"]) == (section, area)
    assert by_number(subs, 45)["area"] == "functions"
    assert by_number(subs, 174)["area"] == "leadership"


def test_known_texts(subs):
    assert by_number(subs, 1)["text"] == "全面清理行政审批事项,彻底取消非行政许可审批事项,做好行政审批事项取消、调整和承接工作。"
    assert by_number(subs, 52)["text"] == "完善重大行政决策程序制度,修订出台《永川区重大行政决策程序规定》。"
    # 134 has no closing 。 in the source; its text must not swallow the lead unit.
    assert by_number(subs, 134)["text"].endswith("促进社会和谐的作用")
    assert by_number(subs, 169)["text"] == "对工作不力、问题较多的,要及时约谈、责令整改、通报批评。"
    assert by_number(subs, 174)["text"] == "大力开展推进依法行政、建设法治政府宣传工作。"


def test_result_types(subs):
    assert by_number(subs, 1)["result_type"] == [3]
    assert by_number(subs, 8)["result_type"] == [2]
    assert by_number(subs, 18)["result_type"] == [1, 3]
    assert by_number(subs, 37)["result_type"] == [1, 2, 3]
    assert by_number(subs, 141)["result_type"] == [1]  # "一类(……于2016年底前完成)"
    assert by_number(subs, 169)["result_type"] == []  # the row has no cells at all
    assert all(set(s["result_type"]) <= {1, 2, 3} for s in subs)


def test_cells(subs):
    assert by_number(subs, 1)["deadline"] == "2016年年底前"
    assert by_number(subs, 5)["deadline"] == "长期坚持"  # "长期" + "坚持" on two lines
    assert by_number(subs, 107)["deadline"] == "长期坚持"  # on one line
    assert by_number(subs, 2)["lead_unit"] == "区发展改革委"  # after the leader 文良印
    assert by_number(subs, 53)["lead_unit"] == "各决策承办部门"  # wrapped cell
    assert by_number(subs, 63)["lead_unit"] == "区纪委(区监察局)"
    assert by_number(subs, 163)["lead_unit"] == "区委办公室、区政府办公室"  # two leaders, two lead units
    # 47–49 and 51 share the unit (and 47–49 the deadline) cells of the row above in the
    # original table; the flattened text has no such cells and nothing is invented.
    assert by_number(subs, 47)["lead_unit"] is None and by_number(subs, 47)["deadline"] is None
    assert by_number(subs, 51)["lead_unit"] is None and by_number(subs, 51)["deadline"] == "长期坚持"


def test_offsets_slice_back_to_the_text(doc, subs):
    for s in subs:
        assert no_space(doc[s["start"]:s["end"]]) == no_space(s["text"])
        assert doc[:s["start"]].endswith(f"{s['number']})")
    starts = [s["start"] for s in subs]
    assert starts == sorted(starts)


def test_wrapped_sub_measure_text_is_joined(doc):
    wrapped = doc.replace("4)规范行政审批动态调整程序。", "4)规范行政审批动态\n\n调整程序。", 1)
    sub = parse_annex(wrapped)[3]
    assert sub["text"] == "规范行政审批动态调整程序。"
    assert no_space(wrapped[sub["start"]:sub["end"]]) == sub["text"]


def test_gap_in_numbering_raises(doc):
    broken = doc.replace("\n100)认真研究处理", "\n200)认真研究处理", 1)
    with pytest.raises(ValueError, match=r"numbered 1\.\.174.*missing \[100\]"):
        parse_annex(broken)


def test_line_outside_any_row_raises(doc):
    broken = doc.replace("\n100)认真研究处理", "\n认真研究处理", 1)  # its number lost
    with pytest.raises(ValueError, match="unexpected line '认真研究处理.*after sub-measure 99"):
        parse_annex(broken)


def test_no_annex_raises(doc):
    with pytest.raises(ValueError, match="附件"):
        parse_annex(doc[:doc.index("\n附件:")])


def test_labels_file_matches_the_document(subs):
    if not DEFAULT_OUT.exists():
        pytest.skip(f"{DEFAULT_OUT} not generated")
    with open(DEFAULT_OUT, encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    assert [(r["number"], r["text"], r["start"], r["end"]) for r in records] == \
        [(s["number"], s["text"], s["start"], s["end"]) for s in subs]
    taxonomy = load_taxonomy()
    assert {r["category"] for r in records} <= set(taxonomy.categories)
    # The section's area, or a manual label's where the report body repeats the sentence.
    assert {r["area"] for r in records} <= set(taxonomy.task_area_ids)
    assert all(r["doc"] == "003" and r["source"] == "plan-annex" for r in records)
