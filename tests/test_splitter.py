"""fazhi.splitter on the real seed reports in data/reports.

000 is PDF-extracted text (sentences broken across lines and pages, spaces around numbers),
001 a saved web page (navigation, document number, signature, "扫一扫"), 003 a web page of a
plan whose annex table was flattened into one cell per line. Excerpts are sliced out of the
real files by a phrase they contain, so the tests follow the files rather than a copy.
"""
from __future__ import annotations

import re

import pytest

from fazhi.paths import REPORTS_DIR
from fazhi.splitter import Unit, section_contexts, split_sentences, split_units

SEEDS = sorted(REPORTS_DIR.glob("*.txt"))


def _read(prefix: str) -> str:
    (path,) = REPORTS_DIR.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


RAW = {prefix: _read(prefix) for prefix in ("000", "001", "003")}
UNITS = {prefix: split_units(text) for prefix, text in RAW.items()}


def no_space(s: str) -> str:
    return re.sub(r"\s+", "", s)


def unit_containing(prefix: str, phrase: str):
    found = [u for u in UNITS[prefix] if phrase in u.text]
    assert len(found) == 1, f"{phrase!r} in {len(found)} units of {prefix}"
    return found[0]


def units_equal_to(prefix: str, text: str):
    found = [u for u in UNITS[prefix] if u.text == text]
    assert found, f"no unit of {prefix} reads {text!r}"
    return found


def assert_offsets_slice_back(prefix: str, unit) -> None:
    original = RAW[prefix]
    assert 0 <= unit.start < unit.end <= len(original)
    assert no_space(original[unit.start:unit.end]) == no_space(unit.text)


def test_seeds_are_the_four_reports():
    assert [p.name[:3] for p in SEEDS] == ["000", "001", "002", "003"]


# --- 000: PDF text ---------------------------------------------------------------------

def test_sentence_broken_across_a_page_break_is_one_body_unit():
    raw = RAW["000"]
    # The break is real: the first half ends a line, a blank line follows, then the rest.
    assert re.search(r"一律不准未经规定程\n\s*\n序在清单之外", raw)
    unit = unit_containing("000", "一律不准未经规定程序在清单之外")
    assert unit.kind == "body"
    assert unit.text == "一律不准未经规定程序在清单之外增设和变相增设行政审批事项，一律不准在公开的清单外实施其他行政审批。"
    assert "\n" in raw[unit.start:unit.end]  # the unit spans the break
    assert_offsets_slice_back("000", unit)


def test_numbered_paragraph_cut_by_a_page_break_is_body_not_heading():
    raw = RAW["000"]
    assert re.search(r"3\. 加强组织领导和能力建设，切实发挥区政府党组对法治\n\s*\n政府建设的组织领导作用", raw)
    unit = unit_containing("000", "加强组织领导和能力建设")
    assert unit.kind == "body"
    assert "切实发挥区政府党组对法治政府建设的组织领导作用" in unit.text
    assert unit.text.startswith("3.加强组织领导和能力建设")
    assert unit.text.endswith("法治政府建设领导责任机制。")
    assert_offsets_slice_back("000", unit)
    assert not any(u.kind == "heading" and "加强组织领导" in u.text for u in UNITS["000"])


def test_unpunctuated_part_titles_are_headings():
    assert [u.kind for u in units_equal_to("000", "一、法治政府建设基本情况")] == ["heading"]
    assert [u.kind for u in units_equal_to("000", "二、存在的问题和困难")] == ["heading"]
    assert [u.kind for u in units_equal_to("001", "二、深化“放管服”改革,努力营造法治化营商环境")] == ["heading"]


def test_numbered_topic_sentence_ending_in_full_stop_is_body():
    (unit,) = units_equal_to("001", "(一)抓“关键少数”,发挥领导干部法治引领作用。")
    assert unit.kind == "body"
    # The paragraph's next sentence is a unit of its own, not glued onto the topic sentence.
    following = UNITS["001"][UNITS["001"].index(unit) + 1]
    assert following.kind == "body" and following.text == "一是高度重视,切实发挥法治建设第一责任人作用。"


def test_pdf_spaces_inside_cjk_are_dropped():
    raw = RAW["000"]
    assert "重庆市大渡口区人民政府 2017 年法治政府建设情况报告" in raw
    (title,) = units_equal_to("000", "重庆市大渡口区人民政府2017年法治政府建设情况报告")
    assert title.kind == "heading"
    assert raw[title.start:title.end] == "重庆市大渡口区人民政府 2017 年法治政府建设情况报告"
    unit = unit_containing("000", "全区办理“多证合一”企业设立")
    assert "截至2017年6月30日" in unit.text and "变更9345件。" in unit.text
    assert_offsets_slice_back("000", unit)


# --- 001: saved web page ---------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "首页>政务公开>政府信息公开目录>法治政府建设年度报告>巴南区人民政府",
    "巴南府文〔2021〕4号签发人:何友生",
    "重庆市巴南区人民政府",  # the signature (the title's first line is joined into a heading)
    "2021年1月11日",
    "扫一扫在手机打开当前页",
])
def test_web_page_furniture_of_001(text):
    found = units_equal_to("001", text)
    assert [u.kind for u in found] == ["furniture"]
    assert_offsets_slice_back("001", found[0])


def test_001_report_body_survives_between_the_furniture():
    kinds = [u.kind for u in UNITS["001"]]
    assert kinds[0] == "furniture" and kinds[-3:] == ["furniture"] * 3
    assert kinds.count("body") > 100
    assert units_equal_to("001", "特此报告。")[0].kind == "body"


# --- 003: plan with a flattened annex table ---------------------------------------------

@pytest.mark.parametrize("phrase", ["发布日期:2017-03-30", "字体颜色:", "【关闭窗口】"])
def test_page_furniture_of_003(phrase):
    unit = unit_containing("003", phrase)
    assert unit.kind == "furniture"
    assert_offsets_slice_back("003", unit)


def test_counter_and_colour_lines_of_003():
    assert "点击数" in unit_containing("003", "发布日期").text
    assert "背景色" in unit_containing("003", "字体颜色").text


def following_units(prefix: str, phrase: str, n: int):
    units = UNITS[prefix]
    i = units.index(unit_containing(prefix, phrase))
    return units[i + 1:i + 1 + n]


def test_annex_row_cells_are_furniture():
    # Row 1) of the annex: measure, then lead unit, partner units, deadline, result class.
    row = following_units("003", "1)全面清理行政审批事项", 5)
    assert [u.text for u in row] == ["区行管办", "区编办等区级有关部门,各镇人民政府、街道办事处",
                                     "2016年年底前", "三类",
                                     "2)最大程度减少对生产经营活动的许可,最大限度缩小投资项目审批、核准的范围,最大幅度减少对各类机构及其活动的认定。"]
    assert [u.kind for u in row] == ["furniture"] * 4 + ["body"]


@pytest.mark.parametrize("cell", ["区行管办", "2016年年底前", "2019年年底前", "区政府法制办"])
def test_repeated_annex_cells_are_all_furniture(cell):
    found = units_equal_to("003", cell)
    assert len(found) >= 5  # the cell repeats down the table
    assert {u.kind for u in found} == {"furniture"}


def test_annex_measures_stay_body_between_the_cells():
    # The sub-measures of the annex are prose and sit between runs of cells.
    (last,) = units_equal_to("003", "174)大力开展推进依法行政、建设法治政府宣传工作。")
    assert last.kind == "body"
    assert [u.kind for u in following_units("003", "174)大力开展推进依法行政", 5)] == ["furniture"] * 5
    measures = [u for u in UNITS["003"] if re.match(r"\d{1,3}\)", u.text)]
    assert len(measures) >= 170
    assert {u.kind for u in measures} == {"body"}


def test_lone_result_class_cell_is_furniture():
    (cell,) = following_units("003", "47)将所有行政规范性文件纳入永川区行政规范性文件库", 1)
    assert cell.text == "三类"
    assert cell.kind == "furniture"
    contexts = section_contexts(UNITS["003"])
    after = UNITS["003"].index(unit_containing("003", "48)健全公民、法人和其他组织对行政规范性文件的建议审查制度"))
    assert "二、完善依法行政制度体系" in contexts[after]


def test_row_with_a_long_partner_cell_is_furniture():
    row = following_units("003", "19)创新行政管理方式,完善政府绩效管理的有关工作。", 1)
    assert row[0].kind == "furniture", row[0]
    assert not any(u.kind == "body" and u.text.startswith("文良印区政府法制办") for u in UNITS["003"])


# --- sentence ends ------------------------------------------------------------------------

# Real sentences of 001 and 000, joined with the punctuation under test.
A = "取消区级行政权力事项91项"
B = "下放区级行政权力和公共服务事项259项"
C = "切实做好行政应诉工作"


@pytest.mark.parametrize("mark", ["！", "？", "!", "?", "。"])
def test_exclamation_and_question_marks_end_sentences(mark):
    assert split_sentences(f"{A}{mark}{B}。") == [f"{A}{mark}", f"{B}。"]


def test_mixed_width_marks_in_one_paragraph():
    text = f"{A}！{B}?{C}!区政府是否依法行政？是的。"
    assert split_sentences(text) == [f"{A}！", f"{B}?", f"{C}!", "区政府是否依法行政？", "是的。"]


@pytest.mark.parametrize("mark", ["；", ";"])
def test_semicolons_do_not_end_sentences(mark):
    text = f"{A}{mark}{B}{mark}{C}。"
    assert split_sentences(text) == [text]


def test_full_stop_inside_book_title_does_not_split():
    text = "印发《关于进一步健全完善“两法衔接”工作机制的意见。试行》，建立联席会议制度。下一步继续推进。"
    assert split_sentences(text) == ["印发《关于进一步健全完善“两法衔接”工作机制的意见。试行》，建立联席会议制度。",
                                     "下一步继续推进。"]


def test_full_stop_inside_quotes_does_not_split():
    text = "法安天下、德润人心的“德法相伴。基层治理”实践走向全国。区政府继续推广。"
    assert split_sentences(text) == ["法安天下、德润人心的“德法相伴。基层治理”实践走向全国。", "区政府继续推广。"]


def test_sentence_ending_in_full_stop_and_quote_keeps_the_quote():
    text = "区长强调：“要坚持问题导向，不忘初心、牢记使命。”会后印发了工作要点。"
    units = split_units(text)
    assert [u.text for u in units] == ["区长强调：“要坚持问题导向，不忘初心、牢记使命。”", "会后印发了工作要点。"]
    assert text[units[0].start:units[0].end].endswith("。”")
    assert units[1].start == units[0].end


def test_number_wrapped_across_lines_is_rejoined():
    # 001's "设立351个“政务服务厅(点)”" as a PDF would wrap it.
    text = "在全国首创“政务+邮政”合作新模式,设立3\n51个“政务服务厅(点)”,方便群众办事。"
    (unit,) = split_units(text)
    assert unit.kind == "body"
    assert unit.text == "在全国首创“政务+邮政”合作新模式,设立351个“政务服务厅(点)”,方便群众办事。"
    assert (unit.start, unit.end) == (0, len(text))


# --- offsets ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name[:3])
def test_every_unit_of_every_seed_has_ordered_valid_offsets(path):
    text = path.read_text(encoding="utf-8")
    units = split_units(text)
    assert len(units) > 50
    previous_end = 0
    for unit in units:
        assert unit.kind in ("heading", "body", "furniture")
        assert unit.text
        assert 0 <= unit.start < unit.end <= len(text), unit
        assert unit.start >= previous_end, f"{unit} overlaps the unit before it"
        assert no_space(text[unit.start:unit.end]) == no_space(unit.text), unit
        previous_end = unit.end


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name[:3])
def test_nothing_but_whitespace_lies_between_units(path):
    text = path.read_text(encoding="utf-8")
    units = split_units(text)
    gaps = [text[a.end:b.start] for a, b in zip(units, units[1:])]
    assert all(not g.strip() for g in gaps), [g for g in gaps if g.strip()][:3]
    assert not text[:units[0].start].strip("\ufeff \n\t\u3000")
    assert not text[units[-1].end:].strip()


# --- section contexts --------------------------------------------------------------------

def test_section_contexts_name_the_heading_above():
    units = UNITS["001"]
    contexts = section_contexts(units)
    assert len(contexts) == len(units)
    heading = "二、深化“放管服”改革,努力营造法治化营商环境"
    first = units.index(unit_containing("001", "全区“放管服”改革以简政放权为着力点"))
    assert heading in contexts[first]
    assert "一、加强党的全面领导" not in contexts[first]
    nested = units.index(unit_containing("001", "取消区级行政权力事项91项"))
    assert heading in contexts[nested]
    assert "(一)开出“三单”,放权提效有力度。" in contexts[nested]
    assert contexts[nested].index(heading) < contexts[nested].index("(一)开出“三单”")  # outermost first
    # A later part closes this one.
    later = units.index(unit_containing("001", "贯彻落实市政府329号令"))
    assert heading not in contexts[later]
    assert "三、严格规范性文件管理,完善行政决策制度机制" in contexts[later]
    # Furniture has no context.
    assert all(c == "" for u, c in zip(units, contexts) if u.kind == "furniture")


def test_a_section_opener_is_not_in_the_section_it_closes():
    units = UNITS["001"]
    contexts = section_contexts(units)
    part_two = units.index(units_equal_to("001", "二、深化“放管服”改革,努力营造法治化营商环境")[0])
    assert "一、加强党的全面领导" not in contexts[part_two]
    second_lead = units.index(units_equal_to("001", "(二)推行“三办”,行政审批有速度。")[0])
    assert "(一)开出“三单”" not in contexts[second_lead]


def test_mixed_width_bracket_pair_does_not_swallow_the_next_sentence():
    text = "按照《大渡口区法治政府建设方案（2017-2020年)》要求，举办培训班。要求各部门落实。"
    assert split_sentences(text) == ["按照《大渡口区法治政府建设方案（2017-2020年)》要求，举办培训班。",
                                     "要求各部门落实。"]


def test_a_page_number_inside_a_broken_sentence_is_left_out():
    # PDF extraction puts the page number between the two halves of a sentence.
    text = ("深化行政审批制度改革，积极推进行政许可标准化工作。一律不准未经规定程\n\n- 3 -\n\n"
            "序在清单之外增设和变相增设行政审批事项。二是加强。\n")
    units = split_units(text)
    joined = [u for u in units if u.text.startswith("一律不准")]
    assert [u.text for u in joined] == ["一律不准未经规定程序在清单之外增设和变相增设行政审批事项。"]
    assert "- 3 -" in text[joined[0].start:joined[0].end]
    assert all("3" not in u.text for u in units)


def test_sentence_end_after_a_closing_quote_stays_with_the_sentence():
    assert split_sentences('他强调"要做到三个不！"。下一句。') == ['他强调"要做到三个不！"。', "下一句。"]


def test_the_preamble_under_the_title_alone_has_no_section():
    text = ("某县人民政府关于2024年度法治政府建设情况的报告\n\n某市人民政府：\n\n"
            "2024年，我县法治政府建设取得新成效。现将有关情况报告如下：\n\n"
            "一、加强党的领导\n\n县政府常务会议学法4次。\n")
    units = split_units(text)
    contexts = dict(zip((u.text for u in units), section_contexts(units)))
    # The addressee line and the introduction share no section with each other or the title.
    assert contexts["某市人民政府："] == ""
    assert contexts["2024年，我县法治政府建设取得新成效。"] == ""
    # Under a numbered part, the title still leads the outline.
    assert contexts["县政府常务会议学法4次。"] == "某县人民政府关于2024年度法治政府建设情况的报告 一、加强党的领导"


def test_an_unnumbered_heading_after_the_body_is_a_section_not_a_title():
    units = [Unit("heading", "某县2024年法治政府建设情况报告", 0, 15), Unit("body", "引言。", 16, 19),
             Unit("heading", "加强法治宣传", 20, 26), Unit("body", "举办法治讲座3场。", 27, 36)]
    assert section_contexts(units) == ["", "", "", "加强法治宣传"]
