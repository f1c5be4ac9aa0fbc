"""The task-area taxonomy, read from ``data/taxonomy.yaml`` (its single source)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from fazhi.paths import TAXONOMY_FILE


class TaxonomyError(ValueError):
    """The taxonomy file is malformed."""


# The keyword lists an area may carry, in the taxonomy file's field names.
KEYWORD_SETS = ("keywords", "outline_2021_keywords")


@dataclass(frozen=True)
class Area:
    id: str
    name: str
    description: str
    task_area: bool
    keywords: tuple[str, ...] = ()
    outline_2021_keywords: tuple[str, ...] = ()  # sub-tasks the 2021—2025 outline adds

    def keyword_list(self, keyword_sets=KEYWORD_SETS) -> tuple[str, ...]:
        """The area's keywords from the named lists ("keywords", "outline_2021_keywords")."""
        return tuple(k for name in keyword_sets for k in getattr(self, name))


@dataclass(frozen=True)
class Taxonomy:
    version: str
    areas: tuple[Area, ...]
    categories: tuple[str, ...]
    crosswalk_2015: dict[str, str] = field(default_factory=dict)
    generic_titles: tuple[str, ...] = ()  # 《…》 names that are not anchors on their own

    @property
    def area_ids(self) -> list[str]:
        return [a.id for a in self.areas]

    @property
    def task_area_ids(self) -> list[str]:
        """The areas a report is expected to cover (not `general`, not `none`)."""
        return [a.id for a in self.areas if a.task_area]

    @property
    def off_topic_id(self) -> str:
        """The area of text that is not about law-based government (the last area listed)."""
        return self.areas[-1].id

    def area(self, area_id: str) -> Area:
        for area in self.areas:
            if area.id == area_id:
                return area
        raise KeyError(area_id)

    def names(self) -> dict[str, str]:
        return {a.id: a.name for a in self.areas}

    def area_for_outline_part(self, title: str) -> str:
        """Map a part title of the 2015—2020 outline ("一、依法全面履行政府职能") to an area id."""
        key = _comparable(_strip_ordinal(title))
        for part, area in self.crosswalk_2015.items():
            if _comparable(part) == key:
                return area
        raise KeyError(f"no area for outline part {title!r}")

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "areas": [{"id": a.id, "name": a.name, "description": a.description,
                       "task_area": a.task_area} for a in self.areas],
            "categories": list(self.categories),
        }


def _comparable(title: str) -> str:
    """Titles are printed with and without 、 between their items; compare without."""
    return re.sub(r"[、，,\s]", "", title)


def _strip_ordinal(title: str) -> str:
    return re.sub(r"^\s*(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[）)])\s*", "", title).strip()


def parse_taxonomy(data: dict, source: str = "taxonomy") -> Taxonomy:
    try:
        areas = tuple(
            Area(id=str(a["id"]), name=str(a["name"]), description=str(a.get("description", "")).strip(),
                 task_area=bool(a.get("task_area", False)), keywords=tuple(a.get("keywords") or ()),
                 outline_2021_keywords=tuple(a.get("outline_2021_keywords") or ()))
            for a in data["areas"]
        )
        categories = tuple(str(c["id"]) for c in data["categories"])
        crosswalk = {str(k): str(v) for k, v in (data.get("crosswalk_2015") or {}).items()}
        generic_titles = tuple(str(t) for t in data.get("generic_titles") or ())
        version = str(data["version"])
    except (KeyError, TypeError) as exc:
        raise TaxonomyError(f"{source}: missing or malformed field {exc}") from exc
    ids = [a.id for a in areas]
    if len(set(ids)) != len(ids):
        raise TaxonomyError(f"{source}: duplicate area ids")
    unknown = set(crosswalk.values()) - set(ids)
    if unknown:
        raise TaxonomyError(f"{source}: crosswalk names unknown areas {sorted(unknown)}")
    if not any(a.task_area for a in areas):
        raise TaxonomyError(f"{source}: no task areas")
    return Taxonomy(version=version, areas=areas, categories=categories, crosswalk_2015=crosswalk,
                    generic_titles=generic_titles)


@lru_cache(maxsize=4)
def load_taxonomy(path: Path = TAXONOMY_FILE) -> Taxonomy:
    with open(path, encoding="utf-8") as fh:
        return parse_taxonomy(yaml.safe_load(fh), str(path))
