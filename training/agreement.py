"""Inter-annotator agreement: Cohen's kappa of the second, independent labelling of a sample.

    python -m training.agreement

The sample (data/agreement/sample.units.jsonl) was drawn at random from the body sentences
of the three seed documents and labelled again by an annotator who had only the guide
(data/agreement/sample.second.jsonl); the first labels are those in data/labels/.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

from fazhi.paths import DATA_DIR, LABELS_DIR

AGREEMENT_DIR = DATA_DIR / "agreement"
NO_CATEGORY = "-"


def _read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def agreement(second_file: Path = AGREEMENT_DIR / "sample.second.jsonl", labels_dir: Path = LABELS_DIR) -> dict:
    first = {row["id"]: row for path in sorted(labels_dir.glob("*.jsonl")) for row in _read(path) if "id" in row}
    second = _read(second_file)
    missing = [row["id"] for row in second if row["id"] not in first]
    if missing:
        raise SystemExit(f"error: {len(missing)} sampled units have no first label, e.g. {missing[0]}")
    pairs = [(first[row["id"]], row) for row in second]
    result = {"units": len(pairs)}
    for label in ("area", "category"):
        a = [p[label] or NO_CATEGORY for p, _ in pairs]
        b = [s[label] or NO_CATEGORY for _, s in pairs]
        result[label] = {"kappa": round(float(cohen_kappa_score(a, b)), 3),
                         "agreement": round(sum(x == y for x, y in zip(a, b)) / len(a), 3),
                         "disagreements": [{"id": p["id"], "text": p["text"], "first": x, "second": y}
                                           for (p, _), x, y in zip(pairs, a, b) if x != y]}
    return result


def main(argv=None) -> int:
    result = agreement()
    print(f"{result['units']} sentences labelled twice")
    for label in ("area", "category"):
        r = result[label]
        print(f"{label:9s} Cohen's kappa {r['kappa']:.3f}  raw agreement {r['agreement']:.1%}  "
              f"({len(r['disagreements'])} disagreements)")
        for d in r["disagreements"]:
            print(f"    {d['id']}: {d['first']} vs {d['second']}  {d['text'][:40]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
