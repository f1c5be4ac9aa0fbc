"""Score every report in a folder, in parallel, keeping each result in SQLite as it is made.

Which files: every file under the folder whose suffix `fazhi.readers` reads (.txt, .docx,
.pdf, .html, .htm, any case), recursively, in sorted order of their path relative to the
folder. Hidden files and folders (".name") and Word's lock files ("~$name.docx") are skipped,
and so is any folder passed in ``exclude`` (the output folder, when it lies inside).

District and year of each file:

- from a manifest, a CSV file with the header ``path,district,year`` (UTF-8, with or without
  a BOM; paths relative to the folder, "/" or "\\" as separator; a blank district or year
  means unknown). A manifest that cannot be read, lacks a column, has a year that is not a
  whole number from 2000 to 2099, lists a path twice or names a file that is not there is an
  error (`BatchError`). Files the manifest does not list fall back to the layout rule, with
  a warning;
- otherwise from the layout: a folder named as a four-digit year from 2000 to 2099 anywhere
  in the file's relative path gives the year (the innermost one if there are several), and
  the file name without its suffix gives the district: ``2020/巴南区.docx`` and
  ``reports/2020/巴南区.docx`` are 巴南区 in 2020. A name without any letter ("2020.txt",
  "001.pdf") names no district.

A file whose district or year stays unknown is still scored; its row carries a warning.

Each file is read and hashed (`fazhi.storage.content_hash` of its text) in this process; a
text already stored for this model version is not scored again ("cached"). The others are
scored by worker processes, forked with the model and jieba this process has loaded (from a
fork server that loads them once, when this process runs other threads); a worker commits each
result to the `ReportStore` itself and sends back only its figures (`summary_of`), so the
batch process does little per report and holds no unit lists. A run stopped by Ctrl-C or
killed loses none of the reports finished before, and running it again scores only the rest. A file that cannot
be read or scored becomes an error row and the batch goes on.
"""
from __future__ import annotations

import csv
import io
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable

from tqdm import tqdm

from fazhi import tokenizer
from fazhi.limits import LimitError
from fazhi.model import get_classifier
from fazhi.paths import DEFAULT_MODEL_FILE
from fazhi.readers import SUPPORTED_SUFFIXES, ReaderError, read_report
from fazhi.scoring import score_report
from fazhi.storage import ReportStore, content_hash

DEFAULT_DB_NAME = "fazhi-batch.db"
STORE_SOURCE = "batch"
MANIFEST_COLUMNS = ("path", "district", "year")
YEAR_FOLDER = re.compile(r"20\d\d")
FIRST_YEAR, LAST_YEAR = 2000, 2099

STATUS_SCORED = "scored"
STATUS_CACHED = "cached"
STATUS_ERROR = "error"
# Error codes beyond the readers' own (ReaderError.code).
ERROR_READ_FAILED = "read_failed"
ERROR_SCORING_FAILED = "scoring_failed"

# Texts handed to the pool and not yet finished, per worker: enough to keep every worker busy.
IN_FLIGHT_PER_WORKER = 4
# Seconds between a worker's checks that the batch process is still alive.
BATCH_CHECK_SECONDS = 1.0


class BatchError(ValueError):
    """The batch cannot start: no such folder, no report in it, or a bad manifest."""


@dataclass
class ReportFile:
    path: Path                 # on disk
    relative: str              # relative to the batch folder, "/"-separated: the row's identity
    district: str | None
    year: int | None
    notes: list[str] = field(default_factory=list)  # warnings about district and year


# --- which files, which district and year ----------------------------------------------

def _is_hidden(relative: PurePosixPath) -> bool:
    return any(part.startswith(".") for part in relative.parts) or relative.name.startswith("~$")


def discover_reports(directory: Path, exclude: Iterable[Path] = ()) -> list[Path]:
    """Supported report files under `directory`, recursively, sorted by relative path."""
    directory = Path(directory)
    excluded = [Path(p).resolve() for p in exclude]
    found = []
    for path in directory.rglob("*"):
        relative = PurePosixPath(path.relative_to(directory).as_posix())
        if path.suffix.lower() not in SUPPORTED_SUFFIXES or _is_hidden(relative) or not path.is_file():
            continue
        resolved = path.resolve()
        if any(resolved.is_relative_to(folder) for folder in excluded):
            continue
        found.append(path)
    return sorted(found, key=lambda p: p.relative_to(directory).as_posix())


def infer_from_layout(relative: str) -> tuple[str | None, int | None]:
    """District and year from a relative path: see the module docstring."""
    path = PurePosixPath(relative)
    years = [int(part) for part in path.parent.parts if YEAR_FOLDER.fullmatch(part)]
    stem = path.stem.strip()
    district = stem if any(ch.isalpha() for ch in stem) else None
    return district, (years[-1] if years else None)


def _manifest_path_key(raw: str) -> str:
    return PurePosixPath(raw.strip().replace("\\", "/")).as_posix()


def _manifest_year(raw: str, where: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not re.fullmatch(r"\d{4}", raw) or not FIRST_YEAR <= int(raw) <= LAST_YEAR:
        raise BatchError(f"{where}: year {raw!r} is not a year from {FIRST_YEAR} to {LAST_YEAR}")
    return int(raw)


def read_manifest(manifest: Path) -> dict[str, tuple[str | None, int | None]]:
    """`path → (district, year)` from a manifest CSV; BatchError with the line if it is bad."""
    manifest = Path(manifest)
    try:
        text = manifest.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise BatchError(f"manifest not found: {manifest}") from None
    except OSError as exc:
        raise BatchError(f"cannot read manifest {manifest}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BatchError(f"manifest {manifest} is not UTF-8 (byte {exc.start}); save it as CSV UTF-8") from exc
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [name.strip().lower() for name in reader.fieldnames or ()]
        missing = [column for column in MANIFEST_COLUMNS if column not in header]
        if missing:
            raise BatchError(f"manifest {manifest}: no column {', '.join(missing)} "
                             f"(the header must be {','.join(MANIFEST_COLUMNS)})")
        reader.fieldnames = header
        entries: dict[str, tuple[str | None, int | None]] = {}
        for record in reader:
            where = f"manifest {manifest} line {reader.line_num}"
            if not any(isinstance(value, str) and value.strip() for value in record.values()):
                continue  # a line of empty cells, as spreadsheets save them
            raw_path = (record.get("path") or "").strip()
            key = _manifest_path_key(raw_path)
            if not raw_path or PurePosixPath(key).is_absolute() or ".." in PurePosixPath(key).parts:
                raise BatchError(f"{where}: path {raw_path!r} must be relative to the folder, inside it")
            if key in entries:
                raise BatchError(f"{where}: {key} is listed twice")
            district = (record.get("district") or "").strip() or None
            entries[key] = (district, _manifest_year(record.get("year") or "", where))
    except csv.Error as exc:
        raise BatchError(f"manifest {manifest} is not valid CSV: {exc}") from exc
    return entries


def plan_batch(directory: Path, manifest: Path | None = None, exclude: Iterable[Path] = ()) -> list[ReportFile]:
    """The files to score with their district and year; BatchError if there is nothing to do."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BatchError(f"no such folder: {directory}")
    paths = discover_reports(directory, exclude)
    if not paths:
        raise BatchError(f"no report files ({', '.join(SUPPORTED_SUFFIXES)}) in {directory}")
    entries = read_manifest(manifest) if manifest else None
    relatives = [p.relative_to(directory).as_posix() for p in paths]
    if entries is not None:
        unknown = sorted(set(entries) - set(relatives))
        if unknown:
            shown = ", ".join(unknown[:3]) + (" …" if len(unknown) > 3 else "")
            raise BatchError(f"manifest {manifest} lists {len(unknown)} file(s) not found in {directory}: {shown}")
    planned = []
    for path, relative in zip(paths, relatives):
        notes = []
        if entries is not None and relative in entries:
            district, year = entries[relative]
            source = "清单 / manifest"
        else:
            district, year = infer_from_layout(relative)
            source = "目录结构 / folder layout"
            if entries is not None:
                notes.append("清单中没有此文件，区县和年份按目录结构推断 / not in the manifest: "
                             "district and year from the folder layout")
        if district is None:
            notes.append(f"无法确定区县 / district unknown ({source})")
        if year is None:
            notes.append(f"无法确定年份 / year unknown ({source})")
        planned.append(ReportFile(path, relative, district, year, notes))
    return planned


# --- rows --------------------------------------------------------------------------------

def _row(report: ReportFile, status: str, *, result: dict | None = None, text_hash: str | None = None,
         characters: int | None = None, error_code: str | None = None, error_message: str | None = None) -> dict:
    result = result or {}
    areas = result.get("areas", {})
    return {
        "path": report.relative,
        "district": report.district,
        "year": report.year,
        "status": status,
        "title": result.get("title", ""),
        "verdict": result.get("verdict"),
        "score": result.get("score"),
        "coverage": result.get("coverage"),
        "specificity": result.get("specificity"),
        "area_coverage": {area_id: area["coverage"] for area_id, area in areas.items()},
        "area_concrete": {area_id: area["concrete"] for area_id, area in areas.items()},
        "missing_areas": list(result.get("missing_areas", [])),
        "warnings": [*report.notes, *result.get("warnings", [])],
        "content_hash": text_hash,
        "model_version": result.get("model_version"),
        "characters": characters,
        "error_code": error_code,
        "error_message": error_message,
    }


def _read(report: ReportFile) -> tuple[str | None, dict | None]:
    """The file's text, or an error row."""
    try:
        return read_report(report.path), None
    except ReaderError as exc:
        return None, _row(report, STATUS_ERROR, error_code=exc.code, error_message=exc.message)
    except Exception as exc:  # a parser bug on one odd file must not stop a batch of hundreds
        return None, _row(report, STATUS_ERROR, error_code=ERROR_READ_FAILED,
                          error_message=f"{type(exc).__name__}: {exc}")


# --- worker processes ------------------------------------------------------------------

def _exit_with_batch(batch_pid: int) -> None:
    # Killed, the batch process would leave its workers blocked on their queue forever (they
    # hold its other end themselves): a worker must notice by itself that the batch is gone.
    while True:
        time.sleep(BATCH_CHECK_SECONDS)
        try:
            os.kill(batch_pid, 0)
        except OSError:
            os._exit(1)


def _worker_context():
    # Forked from this process, workers begin with its model and dictionary already in memory:
    # no second interpreter, imports or loads (about half a second, a sixth of a 60-report batch
    # on 2 cores). Fork is safe only while this process has no other thread (a lock held by one
    # would stay held in the child); otherwise they fork from a server process that has imported
    # the package and the tokenizer's backend once (rjieba builds its dictionary on import).
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["fazhi.batch", tokenizer.configured_backend()])
    return context


class _ProgressBar(tqdm):
    # No monitor thread (tqdm's default starts one per process): workers fork from this process,
    # which must then have no thread but its own.
    monitor_interval = 0


_worker_store: ReportStore | None = None


def _init_worker(model_path: str, db_path: str, batch_pid: int) -> None:
    global _worker_store
    # Ctrl-C reaches the whole process group; the batch process alone decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_batch, args=(batch_pid,), daemon=True).start()
    get_classifier(model_path)
    tokenizer.initialize()
    _worker_store = ReportStore(db_path, check=False)  # the batch process checked the file


def summary_of(result: dict) -> dict:
    """What the rows and outputs need of a result: the figures, without the units and the
    evidence sentences (a few KB instead of ~160 KB to pickle back to the batch process)."""
    return {**{k: v for k, v in result.items() if k != "sentences"},
            "areas": {a: {"coverage": e["coverage"], "concrete": e["concrete"]} for a, e in result["areas"].items()}}


def _store_result(store: ReportStore, result: dict, text_hash: str, report: ReportFile) -> None:
    store.add(result, content_hash=text_hash, title=result["title"], filename=report.relative,
              source=STORE_SOURCE, district=report.district, year=report.year)


def _score_and_store(model_path: str, text: str, text_hash: str, report: ReportFile) -> dict:
    """In a worker: score one text, commit it to the batch database, return its summary."""
    result = score_report(get_classifier(model_path), text)
    _store_result(_worker_store, result, text_hash, report)
    return summary_of(result)


# --- the batch ---------------------------------------------------------------------------

class _Batch:
    """One run: the store, the model version, and the rows as they are finished."""

    def __init__(self, reports: list[ReportFile], store: ReportStore, model_path: Path, progress: bool):
        self.reports = reports
        self.store = store
        self.model_path = model_path
        self.model = get_classifier(model_path)  # its version keys the cache
        self.rows: dict[str, dict] = {}
        # Files with the same text are scored once: hash → [(file, characters)].
        self.waiting: dict[str, list[tuple[ReportFile, int]]] = {}
        self.bar = _ProgressBar(total=len(reports), unit="report", desc="fazhi batch", disable=None if progress else True)

    def finish(self, report: ReportFile, row: dict) -> None:
        self.rows[report.relative] = row
        self.bar.update(1)

    def prepare(self, report: ReportFile) -> tuple[str, str] | None:
        """Read, hash and look up one file; (text, hash) if it still needs scoring, else None."""
        self.bar.set_postfix_str(report.relative, refresh=False)
        text, error_row = _read(report)
        if error_row is not None:
            self.finish(report, error_row)
            return None
        text_hash = content_hash(text)
        if text_hash in self.waiting:
            first = self.waiting[text_hash][0][0].relative
            report.notes.append(f"与 {first} 文本相同 / same text as {first}")
            self.waiting[text_hash].append((report, len(text)))
            return None
        stored = self.store.find(text_hash, self.model.version)
        if stored is not None:
            self.finish(report, _row(report, STATUS_CACHED, result=stored["result"], text_hash=text_hash,
                                     characters=len(text)))
            return None
        self.waiting[text_hash] = [(report, len(text))]
        return text, text_hash

    def record(self, text_hash: str, result: dict | None, failure: BaseException | None) -> None:
        """Finish the rows of every file that holds one text, scored and committed (or failed)."""
        reports = self.waiting.pop(text_hash)
        if failure is not None:
            for report, _ in reports:
                # A report beyond the bounds (fazhi/limits.py) says which; anything else is a fault.
                code = failure.code if isinstance(failure, LimitError) else ERROR_SCORING_FAILED
                message = str(failure) if isinstance(failure, LimitError) else f"{type(failure).__name__}: {failure}"
                self.finish(report, _row(report, STATUS_ERROR, text_hash=text_hash, error_code=code,
                                         error_message=message))
            return
        for report, characters in reports:
            self.finish(report, _row(report, STATUS_SCORED, result=result, text_hash=text_hash, characters=characters))

    def score_here(self, text: str, text_hash: str) -> None:
        """Score one text in this process, commit it, and finish its rows."""
        try:
            result, failure = score_report(self.model, text), None
            _store_result(self.store, result, text_hash, self.waiting[text_hash][0][0])
        except Exception as exc:  # one text the scorer chokes on must not stop the batch
            result, failure = None, exc
        self.record(text_hash, result and summary_of(result), failure)

    def run_here(self) -> None:
        for report in self.reports:
            prepared = self.prepare(report)
            if prepared is not None:
                self.score_here(*prepared)

    def run_pool(self, workers: int) -> None:
        pool: ProcessPoolExecutor | None = None  # started at the first text to score
        running: dict[Future, str] = {}
        workers_ready = False  # a worker has finished a text: the pool has started

        def collect(futures) -> None:
            nonlocal workers_ready
            for future in futures:
                workers_ready = True
                if future.cancelled():
                    continue
                failure = future.exception()
                self.record(running.pop(future), None if failure else future.result(), failure)

        try:
            for report in self.reports:
                prepared = self.prepare(report)
                if prepared is None:
                    continue
                text, text_hash = prepared
                if pool is None:
                    tokenizer.initialize()  # before the workers start: forked, they inherit it
                    pool = ProcessPoolExecutor(
                        max_workers=workers, mp_context=_worker_context(),
                        initializer=_init_worker, initargs=(str(self.model_path), str(self.store.path), os.getpid()))
                if not workers_ready and len(running) >= IN_FLIGHT_PER_WORKER * workers:
                    # No worker has finished a text yet (from a fork server, they take most of
                    # a second to start): rather than wait idle, this process scores the text itself.
                    self.score_here(text, text_hash)
                    collect([f for f in running if f.done()])
                    continue
                running[pool.submit(_score_and_store, str(self.model_path), text, text_hash, report)] = text_hash
                collect([f for f in running if f.done()])
                # Reading outpaces scoring: without a bound, every text of the folder would wait in
                # the pool's queue at once (memory growing with the number of reports). Until the
                # workers have started, the next text is scored here instead of waiting.
                while workers_ready and len(running) >= IN_FLIGHT_PER_WORKER * workers:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    collect(done)
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                collect(done)
        except KeyboardInterrupt:
            if pool is not None:
                # Drop what has not started, let the running texts finish, and keep them.
                pool.shutdown(wait=True, cancel_futures=True)
                collect([f for f in list(running) if f.done()])
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


def run_batch(directory: Path | str, *, db_path: Path | str, workers: int = 1, manifest: Path | str | None = None,
              model_path: Path | str = DEFAULT_MODEL_FILE, exclude: Iterable[Path] = (),
              progress: bool = False) -> list[dict]:
    """Score every report under `directory` and return one row per file, in path order.

    Rows: path, district, year, status ("scored", "cached" or "error"), title, verdict, score,
    coverage, specificity, area_coverage and area_concrete (area id → value), missing_areas,
    warnings, content_hash, model_version, characters, error_code, error_message.
    `workers=1` scores in this process. Raises BatchError before scoring anything if the
    folder or manifest is unusable, and ModelError if the model is; re-raises
    KeyboardInterrupt after committing what finished.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    reports = plan_batch(Path(directory), Path(manifest) if manifest else None, exclude)
    batch = _Batch(reports, ReportStore(db_path), Path(model_path), progress)
    try:
        if workers == 1:
            batch.run_here()
        else:
            batch.run_pool(workers)
    finally:
        batch.bar.close()
    return [batch.rows[report.relative] for report in reports]
