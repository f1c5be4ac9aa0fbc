"""Hostile uploads up to the upload limit: time and peak memory of reading and scoring each.

    python benchmarks/hostile.py [--markdown benchmarks/HOSTILE.md]

Each input is read and scored in a fresh process (what one service worker does with one
upload), so its peak resident memory is its own. Prints a table: the outcome (scored, or the
refusal's code), seconds and peak MiB. The bounds are in fazhi/limits.py; the target is that
no input up to the upload limit (20 MB) takes more than 600 MiB or 30 s.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

UPLOAD_LIMIT = 20 * 1024 * 1024
REPORT = next((Path(__file__).resolve().parents[1] / "data" / "reports").glob("001_*.txt"))

# name → (file name, a Python expression building the bytes, evaluated in the child)
CASES = {
    "ordinary report (001)": ("r.txt", f"open({str(REPORT)!r}, 'rb').read()"),
    "20 MB of very short lines": ("r.txt", f"('法治。\\n甲\\n' * ({UPLOAD_LIMIT} // 14)).encode()"),
    "20 MB, one line without punctuation": ("r.txt", f"('依法行政' * ({UPLOAD_LIMIT} // 12)).encode()"),
    "20 MB of empty lines around a report": ("r.txt", f"open({str(REPORT)!r}, 'rb').read() + b'\\n' * ({UPLOAD_LIMIT} - 20000)"),
    "just under the bounds: 3,990 sentences": (
        "r.txt", "'\\n'.join(f'{i}区司法局组织开展行政执法案卷评查，共评查案卷120件，发现问题35个并全部整改到位。' "
                 "for i in range(3990)).encode()"),
    "1.1 MB of nested <div>": ("r.html", "('<html><body>' + '<div>' * 90000 + '法治。' + '</div>' * 90000 + '</body></html>').encode()"),
    "20 MB page of furniture 95 deep": (
        "r.html", f"('<html><body>' + ('<div class=\"nav\">' * 95 + '<p>法治政府建设。</p>' + '</div>' * 95) "
                  f"* ({UPLOAD_LIMIT} // 2300) + '</body></html>').encode()"),
}

CHILD = """
import json, resource, sys, time
from fazhi.limits import LimitError
from fazhi.model import get_classifier
from fazhi.readers import ReaderError, read_report_bytes
from fazhi.scoring import score_report
model = get_classifier()
data = {expression}
started = time.perf_counter()
try:
    result = score_report(model, read_report_bytes(data, {filename!r}))
    outcome = f"scored, {{len(json.dumps(result, ensure_ascii=False).encode()) / 1e6:.2f}} MB result"
except (LimitError, ReaderError) as exc:
    outcome = f"refused: {{exc.code}}"
print(json.dumps({{"outcome": outcome, "seconds": time.perf_counter() - started,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run_case(filename: str, expression: str) -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD.format(expression=expression, filename=filename)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return {"outcome": f"crashed: {done.stderr.strip().splitlines()[-1:]}", "seconds": time.perf_counter() - started,
                "peak_mib": float("nan")}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    lines = [f"# Hostile uploads ({platform.machine()}, {platform.python_version()})", "",
             "Read and scored in a fresh process each; seconds exclude the model load, peak memory includes it.", "",
             "| input | outcome | seconds | peak MiB |", "|---|---|---|---|"]
    for name, (filename, expression) in CASES.items():
        r = run_case(filename, expression)
        lines.append(f"| {name} | {r['outcome']} | {r['seconds']:.1f} | {r['peak_mib']:.0f} |")
        print(lines[-1], flush=True)
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
