"""fazhi benchmarks: one run prints every figure, and the ratios that the targets are set on.

    .venv/bin/python benchmarks/run.py                 # full run (a few minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --tiny          # seconds; what the test suite runs
    .venv/bin/python benchmarks/run.py --markdown FILE # also write the tables as Markdown

The corpus is generated from data/reports/ by random recombination: sentences are cut at a
comma and joined to the tail of another sentence, digits are redrawn, and reports are
assembled from these in random order, so no text repeats and nothing can be cached.
Timings are wall-clock on a possibly busy machine: compare the ratios measured in one run.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fazhi import lexicon, tokenizer  # noqa: E402
from fazhi.classify import classify_sentences  # noqa: E402
from fazhi.model import get_classifier  # noqa: E402
from fazhi.paths import REPORTS_DIR  # noqa: E402
from fazhi.scoring import score_report  # noqa: E402
from fazhi.splitter import split_units  # noqa: E402
from service.server import server_process  # noqa: E402

FAZHI = Path(sys.executable).with_name("fazhi")


# --- corpus -------------------------------------------------------------------------------

def seed_material() -> tuple[list[str], list[str]]:
    headings, sentences = [], []
    for path in sorted(REPORTS_DIR.glob("*.txt")):
        for unit in split_units(path.read_text(encoding="utf-8")):
            if unit.kind == "heading" and len(unit.text) > 6:
                headings.append(unit.text)
            elif unit.kind == "body" and len(unit.text) > 12:
                sentences.append(unit.text)
    return headings, sentences


class Corpus:
    """New sentences and reports recombined from the seeds (seeded, reproducible)."""

    def __init__(self, seed: int = 2026):
        self.rng = random.Random(seed)
        self.headings, self.sentences = seed_material()

    def sentence(self) -> str:
        a, b = self.rng.sample(self.sentences, 2)
        cut_a = [m.end() for m in re.finditer("[，,]", a)] or [len(a) // 2]
        cut_b = [m.end() for m in re.finditer("[，,]", b)] or [len(b) // 2]
        text = a[:self.rng.choice(cut_a)] + b[self.rng.choice(cut_b):]
        return re.sub(r"\d", lambda _: str(self.rng.randrange(10)), text)

    def sentences_of(self, chars: int) -> list[str]:
        out, total = [], 0
        while total < chars:
            out.append(self.sentence())
            total += len(out[-1])
        return out

    def report(self, chars: int) -> str:
        parts, total = ["重庆市某区人民政府关于法治政府建设工作情况的报告", ""], 0
        while total < chars:
            if self.rng.random() < 0.12:
                parts += ["", self.rng.choice(self.headings), ""]
            parts.append(self.sentence())
            total += len(parts[-1])
        return "\n".join(parts) + "\n"


# --- helpers ------------------------------------------------------------------------------

def timed(fn, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - started, value


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def tokenizer_floor(backend: str | None = None):
    """A tokenizer alone, with the domain dictionary: the floor any pipeline on it pays. The
    floor of the project is its default backend (rjieba); Python jieba is shown beside it."""
    return tokenizer.build_tokenizer(backend or tokenizer.configured_backend())


# --- measurements -------------------------------------------------------------------------

def bench_classification(corpus: Corpus, chars: int, rounds: int = 5) -> dict:
    """Each tokenizer alone (the floor: the default one, with Python jieba beside it), then
    classification in process and by the CLI, in alternating rounds: each round's ratio
    divides the floor's time around it (the mean of the runs before and after) by the
    classification's time, and the table gives the median round (the issue measured medians
    of 7: the host's speed moves by more than the targets' margins within minutes)."""
    sentences = corpus.sentences_of(chars)
    n_chars = sum(map(len, sentences))
    default = tokenizer.configured_backend()
    floors = {name: tokenizer_floor(name) for name in dict.fromkeys([default, "jieba"])}
    for cut in floors.values():
        cut("预热")

    def floor_seconds() -> dict:
        return {name: timed(lambda: [cut(s) for s in sentences])[0] for name, cut in floors.items()}

    model = get_classifier()
    classify_sentences(model, sentences[:50])  # warm: model and tokenizer loaded
    rows, before = [], floor_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sentences.txt"
        path.write_text("\n".join(sentences) + "\n", encoding="utf-8")
        for _ in range(rounds):
            in_process, _ = timed(classify_sentences, model, sentences)
            cli, result = timed(subprocess.run, [str(FAZHI), "classify", "--sentences", str(path)],
                                capture_output=True, text=True)
            if result.returncode != 0 or result.stdout.count("\n") != len(sentences):
                raise RuntimeError(f"fazhi classify failed: {result.stderr[-500:]}")
            after = floor_seconds()
            floor = {name: (before[name] + after[name]) / 2 for name in floors}
            rows.append({"floor": floor, "in_process": in_process, "cli": cli,
                         "drift": {name: after[name] / before[name] for name in floors}})
            before = after

    def median_of(ratio) -> float:
        return statistics.median(ratio(r) for r in rows)

    def range_of(ratio) -> list[float]:
        return [min(ratio(r) for r in rows), max(ratio(r) for r in rows)]

    median_row = sorted(rows, key=lambda r: r["floor"][default] / r["in_process"])[len(rows) // 2]
    return {
        "sentences": len(sentences), "chars": n_chars, "backend": default, "rounds": rounds,
        "floor_chars_per_s": {name: n_chars / sec for name, sec in median_row["floor"].items()},
        "floor_drift": {name: [min(r["drift"][name] for r in rows), max(r["drift"][name] for r in rows)]
                        for name in floors},
        "classify_in_process_chars_per_s": n_chars / median_row["in_process"],
        "classify_cli_chars_per_s": n_chars / statistics.median(r["cli"] for r in rows),
        # Ratios to the default tokenizer alone (the targets), and to Python jieba alone: medians
        # of the rounds, with their ranges.
        "ratio_in_process": median_of(lambda r: r["floor"][default] / r["in_process"]),
        "ratio_in_process_range": range_of(lambda r: r["floor"][default] / r["in_process"]),
        "ratio_cli": median_of(lambda r: r["floor"][default] / r["cli"]),
        "ratio_cli_range": range_of(lambda r: r["floor"][default] / r["cli"]),
        "ratio_in_process_jieba": median_of(lambda r: r["floor"]["jieba"] / r["in_process"]),
        "ratio_cli_jieba": median_of(lambda r: r["floor"]["jieba"] / r["cli"]),
    }


def linear_fit(points: list[tuple[float, float]]) -> dict:
    """Least-squares latency = intercept + slope · chars over all samples, with R²."""
    import numpy as np

    x, y = np.array(points, dtype=float).T
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (intercept + slope * x)
    r2 = 1 - float(residual @ residual) / float(((y - y.mean()) ** 2).sum())
    return {"intercept_ms": 1000 * intercept, "ms_per_1k_chars": 1e6 * slope, "r2": r2}


def bench_latency(corpus: Corpus, sizes: list[int], repeats: int) -> tuple[list[dict], dict]:
    model = get_classifier()
    cut = tokenizer_floor()
    rows, samples = [], []
    for size in sizes:
        reports = [corpus.report(size) for _ in range(repeats)]
        score_times, jieba_times = [], []
        for text in reports:
            seconds, _ = timed(score_report, model, text)
            score_times.append(seconds)
            samples.append((len(text), seconds))
            body = [u.text for u in split_units(text) if u.kind == "body"]
            seconds, _ = timed(lambda: [cut(s) for s in body])
            jieba_times.append(seconds)
        mean_chars = statistics.mean(map(len, reports))
        rows.append({"size": size, "chars": mean_chars,
                     "median_ms": 1000 * statistics.median(score_times),
                     "p95_ms": 1000 * percentile(score_times, 95),
                     "tokenizer_median_ms": 1000 * statistics.median(jieba_times),
                     "ms_per_1k_chars": 1000 * statistics.median(score_times) / (mean_chars / 1000)})
    return rows, linear_fit(samples)


def bench_batch(corpus: Corpus, n_reports: int, size: int, rounds: int = 3) -> list[dict]:
    """1 worker and 2 workers on the same folder, alternating for `rounds` rounds; each row
    is the median round of its number of workers, and the 2-worker row holds the speed-up of
    each round (1 worker's time over 2 workers' in the same round)."""
    from fazhi import batch
    from fazhi.batch import run_batch

    # With workers, the batch process scores texts itself while the workers start: its CPU in
    # that scoring is counted apart from its coordinating work (reading, hashing, handing out).
    scoring_here = {"texts": 0, "cpu": 0.0}
    original_score_here = batch._Batch.score_here
    original_context = batch._worker_context
    start_methods = set()

    def recorded_context():
        context = original_context()
        start_methods.add(context.get_start_method())
        return context

    def counted_score_here(self, text, text_hash):
        started = time.process_time()
        original_score_here(self, text, text_hash)
        scoring_here["texts"] += 1
        scoring_here["cpu"] += time.process_time() - started

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "reports" / "2025"
        folder.mkdir(parents=True)
        for i in range(n_reports):
            (folder / f"区{i:03d}.txt").write_text(corpus.report(size), encoding="utf-8")
        chars = sum(len(p.read_text(encoding="utf-8")) for p in folder.iterdir())
        few = Path(tmp) / "few" / "2025"  # two reports: the batch process's fixed cost (model, pool)
        few.mkdir(parents=True)
        for path in sorted(folder.iterdir())[:2]:
            (few / path.name).write_bytes(path.read_bytes())
        by_workers = {1: [], 2: []}
        for round_number in range(rounds):
            for workers in (1, 2):
                parent_cpu = {}
                for name, reports in (("few", few.parent), ("all", Path(tmp) / "reports")):
                    # A fresh store: every report is scored.
                    db = Path(tmp) / f"batch{workers}-{name}-{round_number}.db"
                    scoring_here.update(texts=0, cpu=0.0)
                    batch._Batch.score_here, batch._worker_context = counted_score_here, recorded_context
                    try:
                        cpu_before = time.process_time()  # this process only: the batch process's own work
                        seconds, results = timed(run_batch, reports, db_path=db, workers=workers)
                        parent_cpu[name] = time.process_time() - cpu_before
                    finally:
                        batch._Batch.score_here, batch._worker_context = original_score_here, original_context
                    if workers > 1:
                        parent_cpu[name] -= scoring_here["cpu"]
                        parent_cpu[name + "_scored_here"] = scoring_here["texts"]
                scored = sum(1 for r in results if r["status"] == "scored")
                by_workers[workers].append({
                    "workers": workers, "reports": scored, "seconds": seconds,
                    "reports_per_s": scored / seconds, "chars_per_s": chars / seconds,
                    "parent_cpu_ms_per_report": 1000 * parent_cpu["all"] / scored,
                    "parent_fixed_cpu_s": parent_cpu["few"],
                    "parent_marginal_cpu_ms_per_report": 1000 * (parent_cpu["all"] - parent_cpu["few"]) / (scored - 2),
                    "parent_scored_texts": parent_cpu.get("all_scored_here", scored)})
        rows = [sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2] for runs in by_workers.values()]
        rows[1]["speedups"] = [one["seconds"] / two["seconds"] for one, two in zip(by_workers[1], by_workers[2])]
        rows[1]["start_methods"] = sorted(start_methods)
    return rows


def _tree_memory_mib(root: int) -> tuple[float, float]:
    """Memory of a process and all its descendants now, in MiB: the sum of their proportional
    set sizes (a page shared by forked workers counted once, split between them) and the
    largest resident set of one of them."""
    pids, pss, rss = [root], [], []
    while pids:
        pid = pids.pop()
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            for task in Path(f"/proc/{pid}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                pss.append(int(line.split()[1]) / 1024)
            elif line.startswith("Rss:"):
                rss.append(int(line.split()[1]) / 1024)
    return sum(pss), max(rss, default=0.0)


def bench_batch_scale(corpus: Corpus, counts: list[int], size: int, workers: int = 2) -> list[dict]:
    """The whole `fazhi batch` command (scoring, database, every output) at growing numbers of
    reports: time, peak memory of the process tree (sampled every 50 ms) and output sizes."""
    rows = []
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            reports, out = Path(tmp) / "reports", Path(tmp) / "out"
            for i in range(count):  # ~4 years of each district, as a province's archive holds
                folder = reports / str(2020 + i % 4)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"区{i // 4:05d}.txt").write_text(corpus.report(size), encoding="utf-8")
            started = time.perf_counter()
            process = subprocess.Popen([str(FAZHI), "batch", str(reports), "--out", str(out), "--workers", str(workers)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            peak_sum = peak_one = 0.0
            while process.poll() is None:
                total, largest = _tree_memory_mib(process.pid)
                peak_sum, peak_one = max(peak_sum, total), max(peak_one, largest)
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            if process.returncode != 0:
                raise RuntimeError(f"fazhi batch failed on {count} reports ({process.returncode})")
            pages = sorted(out.glob("*.html"))
            rows.append({"reports": count, "seconds": seconds, "reports_per_s": count / seconds,
                         "peak_tree_mib": peak_sum, "peak_process_mib": peak_one,
                         "index_kib": (out / "index.html").stat().st_size / 1024,
                         "largest_page_kib": max(p.stat().st_size for p in pages) / 1024, "pages": len(pages),
                         "largest_chart_kib": max(p.stat().st_size for p in out.glob("*.png")) / 1024,
                         "database_kib_per_report": (out / "fazhi-batch.db").stat().st_size / 1024 / count})
    return rows


def _post(url: str, payload: dict, timeout: float = 120) -> tuple[float, int]:
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError):
        status = 0
    return time.perf_counter() - started, status


def _in_process_rate(model, texts: list[str]) -> float:
    seconds, _ = timed(lambda: [score_report(model, t) for t in texts])
    return len(texts) / seconds


def bench_service(corpus: Corpus, clients: list[int], requests_per_client: int, size: int,
                  workers: int) -> dict:
    """The server under N concurrent clients. The in-process scoring rate is measured on the
    same kind of reports just before each load level, while the server is idle."""
    model = get_classifier()
    score_report(model, corpus.report(size))  # warm
    probe_count = 4 if requests_per_client < 4 else 12
    with tempfile.TemporaryDirectory() as tmp, \
            server_process(Path(tmp) / "bench.db", workers=workers, start_timeout=90) as (base, server):
        rows = []
        for n in clients:
            in_process_rate = _in_process_rate(model, [corpus.report(size) for _ in range(probe_count)])
            texts = [corpus.report(size) for _ in range(n * requests_per_client)]
            latencies, statuses, lock = [], [], threading.Lock()

            def client(chunk):
                for text in chunk:
                    seconds, status = _post(base + "/api/v1/score", {"text": text})
                    with lock:
                        latencies.append(seconds)
                        statuses.append(status)

            chunks = [texts[i::n] for i in range(n)]
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(n) as pool:
                list(pool.map(client, chunks))
            elapsed = time.perf_counter() - started
            throughput = len(texts) / elapsed
            rows.append({"clients": n, "requests": len(texts), "throughput_per_s": throughput,
                         "in_process_reports_per_s": in_process_rate,
                         "p50_ms": 1000 * percentile(latencies, 50), "p95_ms": 1000 * percentile(latencies, 95),
                         "p99_ms": 1000 * percentile(latencies, 99),
                         "errors": sum(1 for s in statuses if s != 200),
                         "ratio_to_workers_x_in_process": throughput / (workers * in_process_rate)})
        memory = _service_peak_memory(server.pid)
    return {"workers": workers, "rows": rows, "peak_rss_mib": memory}


def _service_peak_memory(master_pid: int) -> dict:
    """VmHWM (peak resident memory) of the gunicorn master and each worker, in MiB."""
    peaks = {}
    pids = [master_pid]
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks["master" if pid == master_pid else f"worker {pid}"] = int(line.split()[1]) / 1024
        except OSError:
            continue
    return peaks


STARTUP_PROBE = """
import json, time
t0 = time.perf_counter()
import numpy
t1 = time.perf_counter()
import fazhi.model, fazhi.scoring, fazhi.classify
from fazhi import tokenizer
t2 = time.perf_counter()
model = fazhi.model.get_classifier()
t3 = time.perf_counter()
sentence = "深化放管服改革，推行一网通办。"
tokenizer.expect_characters(len(sentence))  # as the command does: its whole input is one line
fazhi.classify.classify_sentences(model, [sentence])
t4 = time.perf_counter()
cut_by = "text words" if tokenizer._text_words else "whole dictionary"
tokenizer.initialize()  # the whole dictionary, as a longer input needs it
t5 = time.perf_counter()
text = open({report!r}, encoding="utf-8").read()
fazhi.scoring.score_report(model, text)
# VmHWM is this process's own peak: ru_maxrss would keep the peak of the process that forked it.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"numpy_s": t1 - t0, "import_s": t2 - t0, "fazhi_import_s": t2 - t1, "model_s": t3 - t2,
                   "first_prediction_s": t4 - t3, "total_s": t4 - t0, "first_cut_by": cut_by,
                   "dictionary_s": t5 - t4, "peak_rss_mib": hwm / 1024}}))
"""


def _best_wall_seconds(command: list[str], runs: int, env: dict | None = None) -> tuple[float, float]:
    """Best and median wall-clock time of a command, run `runs` times."""
    times = []
    for _ in range(runs):
        seconds, result = timed(subprocess.run, command, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"{command} failed: {result.stderr[-500:]}")
        times.append(seconds)
    return min(times), statistics.median(times)


def bench_startup(corpus: Corpus, size: int, runs: int = 5) -> dict:
    """Start-up to the first prediction: the whole `fazhi classify --sentences` on one line (the
    target), with the tokenizer's word index (fazhi.lexicon) in place, on the first run after
    installing (the index built and checked), and without one (the whole dictionary, as before);
    the phases inside one process, and what Python itself takes to start."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.txt"
        report.write_text(corpus.report(size), encoding="utf-8")
        one_line = Path(tmp) / "one.txt"
        one_line.write_text(corpus.sentence() + "\n", encoding="utf-8")
        cache, blocked = Path(tmp) / "cache", Path(tmp) / "no-cache"
        blocked.write_text("")  # a file where the cache directory would be: no index
        with_index = {**os.environ, lexicon.CACHE_DIR_ENV: str(cache)}
        without_index = {**os.environ, lexicon.CACHE_DIR_ENV: str(blocked / "cache")}
        command = [str(FAZHI), "classify", "--sentences", str(one_line)]
        first_run_s, _ = _best_wall_seconds(command, 1, with_index)
        phases = []
        for _ in range(runs):
            result = subprocess.run([sys.executable, "-c", STARTUP_PROBE.format(report=str(report))],
                                    capture_output=True, text=True, check=True, env=with_index)
            phases.append(json.loads(result.stdout))
        # Alternating, so that both see the same machine.
        with_times, without_times = [], []
        for _ in range(runs):
            with_times.append(_best_wall_seconds(command, 1, with_index)[0])
            without_times.append(_best_wall_seconds(command, 1, without_index)[0])
        python_best, _ = _best_wall_seconds([sys.executable, "-c", "pass"], runs)
    best = min(phases, key=lambda r: r["total_s"])
    return {**best, "report_chars": size, "command_s": min(with_times),
            "command_median_s": statistics.median(with_times), "first_run_s": first_run_s,
            "without_index_s": min(without_times), "without_index_median_s": statistics.median(without_times),
            "python_s": python_best}


def bench_backends(corpus: Corpus, chars: int) -> dict:
    """Token agreement of each backend with jieba, and its raw speed, on the corpus."""
    sentences = corpus.sentences_of(chars)
    n_chars = sum(map(len, sentences))
    results = {}
    reference = None
    for backend in tokenizer.BACKENDS:
        cut = tokenizer.build_tokenizer(backend)
        cut("预热")
        seconds, tokens = timed(lambda: [cut(s) for s in sentences])
        if reference is None:
            reference = tokens
        same = sum(a == b for a, b in zip(reference, tokens))
        token_total = sum(len(t) for t in reference)
        token_same = sum(len(set(_spans(a)) & set(_spans(b))) for a, b in zip(reference, tokens))
        results[backend] = {"chars_per_s": n_chars / seconds, "identical_sentences": same / len(sentences),
                            "token_agreement": token_same / token_total}
    return results


def _spans(tokens: list[str]) -> list[tuple[int, int]]:
    spans, position = [], 0
    for token in tokens:
        spans.append((position, position + len(token)))
        position += len(token)
    return spans


# --- report -------------------------------------------------------------------------------

def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def markdown(results: dict) -> str:
    c = results["classification"]
    default = c["backend"]
    lines = [f"Machine: {results['machine']}", f"Tokenizer backend: {default}", "",
             f"## Classification vs. the tokenizer alone (the floor: {default}, the default)", "",
             f"| | chars/s | ratio to {default} alone | ratio to Python jieba alone |", "|---|---|---|---|"]
    for name, rate in c["floor_chars_per_s"].items():
        lines.append(f"| {name} alone (+ domain dictionary) | {rate:,.0f} | "
                     f"{c['floor_chars_per_s'][default] / rate:.2f} | {c['floor_chars_per_s']['jieba'] / rate:.2f} |")
    low, high = c["ratio_in_process_range"]
    cli_low, cli_high = c["ratio_cli_range"]
    lines += [f"| classify, in process | {c['classify_in_process_chars_per_s']:,.0f} | {c['ratio_in_process']:.3f} "
              f"({low:.3f}–{high:.3f}) | {c['ratio_in_process_jieba']:.2f} |",
              f"| `fazhi classify --sentences` (whole command) | {c['classify_cli_chars_per_s']:,.0f} | "
              f"{c['ratio_cli']:.3f} ({cli_low:.3f}–{cli_high:.3f}) | {c['ratio_cli_jieba']:.2f} |",
              "", f"{c['sentences']:,} sentences, {c['chars']:,} characters; the median of {c['rounds']} alternating "
              "rounds (tokenizers alone, classification in process, the whole command, tokenizers alone), with the "
              "range of the rounds. Within one round each tokenizer's speed drifted by "
              + ", ".join(f"{name} {d[0]:.2f}–{d[1]:.2f}×" for name, d in c["floor_drift"].items())
              + " between its runs before and after the measurements (the machine's noise).", "",
              "## `fazhi score` latency by report length", "",
              f"| size | median ms | p95 ms | {default} ms (same text) | ms per 1k chars |", "|---|---|---|---|---|"]
    for r in results["latency"]:
        lines.append(f"| {r['chars']:,.0f} chars | {r['median_ms']:.0f} | {r['p95_ms']:.0f} | "
                     f"{r['tokenizer_median_ms']:.0f} | {r['ms_per_1k_chars']:.1f} |")
    fit = results["latency_fit"]
    lines += ["", f"Linear fit over all samples: latency = {fit['intercept_ms']:.0f} ms + "
              f"{fit['ms_per_1k_chars']:.1f} ms per 1k characters, R² = {fit['r2']:.3f} "
              "(a fixed cost per report plus a cost proportional to its length).", ""]
    if "batch" in results:
        lines += ["## Batch", "", "| workers | reports | seconds | reports/s | chars/s |", "|---|---|---|---|---|"]
        for r in results["batch"]:
            lines.append(f"| {r['workers']} | {r['reports']} | {r['seconds']:.1f} | {r['reports_per_s']:.2f} | {r['chars_per_s']:,.0f} |")
        b = results["batch"]
        speedups = b[1]["speedups"]
        lines += ["", f"Speed-up with 2 workers: {statistics.median(speedups):.2f}× (the median of {len(speedups)} "
                  f"alternating rounds, each 1 worker's time over 2 workers' in the round: "
                  f"{', '.join(f'{x:.2f}' for x in speedups)}; the table gives each one's median round; "
                  f"workers started by {' and '.join(b[1]['start_methods'])}). "
                  f"The batch process's own CPU time with 2 workers (reading, hashing, the cache look-up, "
                  f"handing out texts, collecting figures): {b[1]['parent_marginal_cpu_ms_per_report']:.1f} ms per "
                  f"report beyond a fixed {b[1]['parent_fixed_cpu_s']:.2f} s (loading the model for its version, "
                  f"starting the pool; measured on 2 reports), {b[1]['parent_cpu_ms_per_report']:.1f} ms per report "
                  f"in all; besides, it scored {b[1]['parent_scored_texts']} of the texts itself while the workers "
                  f"started (that CPU not counted here). With 1 worker it scores every text: "
                  f"{b[0]['parent_cpu_ms_per_report']:.0f} ms per report.", ""]
    if "batch_scale" in results:
        lines += ["## Batch at scale (`fazhi batch --workers 2`, whole command)", "",
                  "| reports | seconds | reports/s | peak memory, all processes, PSS (MiB) | largest process, RSS (MiB) | "
                  "index.html KiB | largest page KiB | pages | largest chart KiB | database KiB/report |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in results["batch_scale"]:
            lines.append(f"| {r['reports']:,} | {r['seconds']:.0f} | {r['reports_per_s']:.1f} | {r['peak_tree_mib']:.0f} | "
                         f"{r['peak_process_mib']:.0f} | {r['index_kib']:.0f} | {r['largest_page_kib']:.0f} | "
                         f"{r['pages']} | {r['largest_chart_kib']:.0f} | {r['database_kib_per_report']:.1f} |")
        lines += ["", "Memory is sampled every 50 ms over the batch process and its workers (and their fork server, if any): "
                  "the sum of their proportional set sizes (pages shared after the fork counted once) and the "
                  "largest resident set of one process.", ""]
    if "service" in results:
        s = results["service"]
        lines += [f"## Service under load (gunicorn, {s['workers']} workers)", "",
                  "| clients | requests | reports/s | p50 ms | p95 ms | p99 ms | errors | in-process reports/s | "
                  "÷ (workers × in-process) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in s["rows"]:
            lines.append(f"| {r['clients']} | {r['requests']} | {r['throughput_per_s']:.2f} | {r['p50_ms']:.0f} | "
                         f"{r['p95_ms']:.0f} | {r['p99_ms']:.0f} | {r['errors']} | {r['in_process_reports_per_s']:.2f} | "
                         f"{r['ratio_to_workers_x_in_process']:.2f} |")
        lines += ["", "Peak resident memory (MiB): " + ", ".join(f"{k} {v:.0f}" for k, v in s["peak_rss_mib"].items()), ""]
    st = results["startup"]
    lines += ["## Start-up and memory", "",
              f"`fazhi classify --sentences` on a one-line file, whole command, with the tokenizer's word index "
              f"in place: {st['command_s']:.2f} s (best of 5; median {st['command_median_s']:.2f} s); without an "
              f"index (the whole dictionary at every start, as before), alternating with it: "
              f"{st['without_index_s']:.2f} s (median {st['without_index_median_s']:.2f} s); the first run after "
              f"installing, which builds and checks the index: {st['first_run_s']:.1f} s; `python -c pass` alone: "
              f"{st['python_s']:.2f} s. Inside one process (best of 5): import {st['import_s']:.2f} s (numpy "
              f"{st['numpy_s']:.2f} s, fazhi {st['fazhi_import_s']:.2f} s), model {st['model_s']:.3f} s, first "
              f"prediction {st['first_prediction_s']:.3f} s (cut by the {st['first_cut_by']}), total "
              f"{st['total_s']:.2f} s; {default}'s whole dictionary, which a longer input then loads, "
              f"{st['dictionary_s']:.2f} s. "
              f"Peak memory (VmHWM, measured in a fresh process) of a process that scored a "
              f"{st['report_chars']:,}-character report (a batch worker's job): {st['peak_rss_mib']:.0f} MiB.", "",
              "## Tokenizer backends on the corpus", "",
              "| backend | chars/s | identical sentences | token agreement with jieba |", "|---|---|---|---|"]
    for name, r in results["backends"].items():
        lines.append(f"| {name} | {r['chars_per_s']:,.0f} | {r['identical_sentences']:.2%} | {r['token_agreement']:.3%} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a small corpus: checks the script, not the machine")
    parser.add_argument("--markdown", type=Path, default=Path(__file__).with_name("latest.md"),
                        help="write the tables to this file (default: benchmarks/latest.md, not committed; "
                             "benchmarks/RESULTS.md holds the recorded results)")
    parser.add_argument("--json", type=Path, help="also write the raw figures as JSON")
    parser.add_argument("--skip-service", action="store_true")
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--batch-scale", default="100,1000,10000",
                        help="numbers of reports for the batch-at-scale table (comma-separated; empty to skip)")
    args = parser.parse_args(argv)
    tiny = args.tiny
    corpus = Corpus()
    results = {"machine": machine()}
    results["classification"] = bench_classification(corpus, 20_000 if tiny else 1_000_000, 2 if tiny else 5)
    results["latency"], results["latency_fit"] = bench_latency(
        corpus, [2_000, 8_000] if tiny else [5_000, 20_000, 100_000], repeats=2 if tiny else 9)
    if not args.skip_batch:
        results["batch"] = bench_batch(corpus, 3 if tiny else 60, 3_000 if tiny else 20_000, 1 if tiny else 3)
        counts = [int(n) for n in args.batch_scale.split(",") if n.strip()]
        if counts:
            results["batch_scale"] = bench_batch_scale(corpus, [4, 8] if tiny else counts, 2_000 if tiny else 6_000)
    if not args.skip_service:
        results["service"] = bench_service(corpus, [1, 2] if tiny else [1, 4, 16], 1 if tiny else 4,
                                           2_000 if tiny else 5_000, workers=2)
    results["startup"] = bench_startup(corpus, 5_000 if tiny else 100_000)
    results["backends"] = bench_backends(corpus, 10_000 if tiny else 300_000)
    text = markdown(results)
    sys.stdout.write(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
