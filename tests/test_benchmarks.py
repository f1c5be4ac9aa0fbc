"""The benchmark script runs end to end on a tiny corpus (so it does not rot); no timings asserted."""
from __future__ import annotations

import json
import subprocess
import sys

from fazhi.paths import PROJ_ROOT


def test_benchmark_script_runs_on_a_tiny_corpus(tmp_path):
    figures = tmp_path / "results.json"
    tables = tmp_path / "results.md"
    result = subprocess.run([sys.executable, str(PROJ_ROOT / "benchmarks" / "run.py"), "--tiny",
                             "--json", str(figures), "--markdown", str(tables)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for heading in ("Classification vs. the tokenizer alone", "latency by report length", "## Batch",
                    "## Service under load", "## Start-up and memory", "## Tokenizer backends"):
        assert heading in result.stdout
    data = json.loads(figures.read_text(encoding="utf-8"))
    classification = data["classification"]
    assert classification["ratio_in_process"] > 0 and classification["ratio_in_process_jieba"] > 0
    # The floor is the default tokenizer, with Python jieba beside it.
    assert set(classification["floor_chars_per_s"]) == {classification["backend"], "jieba"}
    assert [r["workers"] for r in data["batch"]] == [1, 2]
    assert all(r["reports"] == 3 for r in data["batch"])
    assert data["batch"][1]["start_methods"] == ["fork"]  # the script runs no other thread
    assert [r["clients"] for r in data["service"]["rows"]] == [1, 2]
    assert all(r["errors"] == 0 for r in data["service"]["rows"])
    assert data["startup"]["total_s"] > 0 and data["startup"]["peak_rss_mib"] > 0
    assert data["startup"]["command_s"] > data["startup"]["python_s"] > 0
    # A one-line command cuts with the word index, and the comparison without it ran beside it.
    assert data["startup"]["first_cut_by"] == "text words"
    assert data["startup"]["without_index_s"] > 0 and data["startup"]["first_run_s"] > 0
    assert set(data["backends"]) == {"jieba", "rjieba"}
    assert tables.read_text(encoding="utf-8") == result.stdout
