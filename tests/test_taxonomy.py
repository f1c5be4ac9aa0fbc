"""fazhi.taxonomy: the real data/taxonomy.yaml against the labelling guide, and malformed files."""
from __future__ import annotations

import copy
import re

import pytest
import yaml

from fazhi.paths import PROJ_ROOT, REPORTS_DIR, TAXONOMY_FILE
from fazhi.taxonomy import TaxonomyError, load_taxonomy, parse_taxonomy

# The project's own copy of the labelling guide: the taxonomy must match its area table.
GUIDE = PROJ_ROOT / "docs" / "labeling-guide.md"
# The eight parts of the 2015—2020 outline as the annex of plan 003 prints them, with the area
# the guide's last column gives each.
OUTLINE_2015 = {
    "一、依法全面履行政府职能": "functions",
    "二、完善依法行政制度体系": "rules",
    "三、推进行政决策科学化、民主化、法治化": "decisions",
    "四、坚持严格规范公正文明执法": "enforcement",
    "五、强化对行政权力的制约和监督": "oversight",
    "六、依法有效化解社会矛盾纠纷": "disputes",
    "七、全面提高政府工作人员法治思维和依法行政能力": "leadership",
    "八、组织保障和落实机制": "leadership",
}


def guide_rows() -> list[list[str]]:
    """Rows of the guide's area table: cells of lines that start with | `id` |."""
    text = GUIDE.read_text(encoding="utf-8")
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in text.splitlines() if re.match(r"^\|\s*`[a-z_]+`\s*\|", line)]


def guide_ids() -> list[str]:
    return [row[0].strip("`") for row in guide_rows()]


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


@pytest.fixture
def raw() -> dict:
    with open(TAXONOMY_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def test_guide_table_parses():
    ids = guide_ids()
    assert len(ids) == 11 and len(set(ids)) == 11


def test_eleven_areas_with_the_guides_ids_in_its_order(taxonomy):
    assert taxonomy.area_ids == guide_ids()
    assert len(taxonomy.areas) == 11


def test_names_match_the_guide(taxonomy):
    assert all(a.name.strip() for a in taxonomy.areas)
    assert taxonomy.names() == {row[0].strip("`"): row[1] for row in guide_rows()}


def test_nine_task_areas_and_off_topic_last(taxonomy):
    assert len(taxonomy.task_area_ids) == 9
    assert "general" not in taxonomy.task_area_ids and "none" not in taxonomy.task_area_ids
    assert taxonomy.off_topic_id == "none"
    assert list(taxonomy.categories) == ["concrete", "slogan"]
    assert taxonomy.area("disputes").name == "社会矛盾纠纷行政预防调处化解体系"
    with pytest.raises(KeyError):
        taxonomy.area("nonexistent")


def test_every_task_area_has_keywords(taxonomy):
    for area in taxonomy.areas:
        if area.task_area:
            assert area.keywords, area.id
            assert area.description, area.id


def test_crosswalk_covers_the_eight_outline_parts(taxonomy):
    assert len(taxonomy.crosswalk_2015) == 8
    assert set(taxonomy.crosswalk_2015.values()) <= set(taxonomy.task_area_ids)
    for title, area in OUTLINE_2015.items():
        assert taxonomy.area_for_outline_part(title) == area, title


def test_outline_parts_are_the_ones_plan_003_prints(taxonomy):
    (plan,) = REPORTS_DIR.glob("003_*.txt")
    lines = {line.strip() for line in plan.read_text(encoding="utf-8").splitlines()}
    assert set(OUTLINE_2015) <= lines


def test_outline_part_lookup(taxonomy):
    assert taxonomy.area_for_outline_part("八、组织保障和落实机制") == "leadership"
    assert taxonomy.area_for_outline_part("（一）依法全面履行政府职能") == "functions"
    assert taxonomy.area_for_outline_part("  四. 坚持严格规范公正文明执法 ") == "enforcement"
    assert taxonomy.area_for_outline_part("依法有效化解社会矛盾纠纷") == "disputes"
    with pytest.raises(KeyError):
        taxonomy.area_for_outline_part("九、加强突发事件应对")


def test_real_file_parses_like_load(raw, taxonomy):
    parsed = parse_taxonomy(raw)
    assert parsed == taxonomy
    assert parsed.version == "2021.2"
    assert "述法" in parsed.area("leadership").keyword_list() and "述法" not in parsed.area("leadership").keywords


def test_duplicate_area_id_is_rejected(raw):
    raw["areas"].append(copy.deepcopy(raw["areas"][0]))
    with pytest.raises(TaxonomyError, match="duplicate"):
        parse_taxonomy(raw, "dup.yaml")


def test_crosswalk_to_unknown_area_is_rejected(raw):
    raw["crosswalk_2015"]["依法全面履行政府职能"] = "economy"
    with pytest.raises(TaxonomyError, match="economy"):
        parse_taxonomy(raw, "cross.yaml")


@pytest.mark.parametrize("remove", ["areas", "categories", "version", "area name", "area id", "category id"])
def test_missing_field_is_rejected(raw, remove):
    if remove == "area name":
        del raw["areas"][3]["name"]
    elif remove == "area id":
        del raw["areas"][3]["id"]
    elif remove == "category id":
        del raw["categories"][0]["id"]
    else:
        del raw[remove]
    with pytest.raises(TaxonomyError, match="missing.yaml"):
        parse_taxonomy(raw, "missing.yaml")


def test_no_task_area_is_rejected(raw):
    for area in raw["areas"]:
        area["task_area"] = False
    with pytest.raises(TaxonomyError, match="no task areas"):
        parse_taxonomy(raw)


def test_malformed_file_on_disk(tmp_path, raw):
    raw["areas"][1]["id"] = raw["areas"][0]["id"]
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path)
    assert str(path) in str(info.value)
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(TaxonomyError):
        load_taxonomy(empty)


def test_outline_part_titles_match_with_or_without_enumeration_commas():
    taxonomy = load_taxonomy()
    assert taxonomy.area_for_outline_part("三、推进行政决策科学化民主化法治化") == "decisions"
    assert taxonomy.area_for_outline_part("（三）推进行政决策科学化、民主化、法治化") == "decisions"


def test_generic_titles_are_read_from_the_file(taxonomy):
    # The guide: "the outline's own title ... does not make a sentence concrete".
    assert "法治政府建设实施纲要" in taxonomy.generic_titles
