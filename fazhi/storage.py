"""History of scored reports in SQLite: one row per (text, model version).

A row keeps the numbers people sort and filter by (score, coverage, specificity, verdict,
model version, district, year) as columns and the whole `score_report` result as compact JSON
compressed with zlib (15–20 KB for an annual report instead of 60–80 KB; rows written before
this as plain JSON text still read). `prune` removes old rows by age or count.

Every call opens its own connection and closes it, so one `ReportStore` may be shared by
threads, and several processes (server workers, a batch runner) may use the same file: the
database runs in WAL mode (readers never wait for the writer) with a busy timeout for
concurrent writers. An in-memory database (":memory:") is therefore not supported.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from contextlib import closing, contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

# Seconds a writer waits for another process's write transaction before giving up.
BUSY_TIMEOUT_SECONDS = 30.0
# SQLite integers are 64-bit; Python's are not bounded (an id from a URL may be any size).
_SQLITE_MAX_INT = 2**63 - 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at    TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    filename      TEXT,
    source        TEXT    NOT NULL,
    district      TEXT,
    year          INTEGER,
    verdict       TEXT    NOT NULL,
    score         REAL,
    coverage      REAL,
    specificity   REAL,
    result_json   TEXT    NOT NULL,
    UNIQUE (content_hash, model_version)
);
"""

# zlib level for stored results: 9 saves 2 % over 6 at twice the time.
RESULT_COMPRESSION = 6


def encode_result(result: dict) -> bytes:
    return zlib.compress(json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                         RESULT_COMPRESSION)


def decode_result(stored: bytes | str) -> dict:
    """A stored result: compressed JSON, or plain JSON text in rows of older versions."""
    if isinstance(stored, bytes):
        stored = zlib.decompress(stored).decode("utf-8")
    return json.loads(stored)


# Everything but the result JSON: what lists show.
_SUMMARY_COLUMNS = ("id, created_at, content_hash, model_version, title, filename, source, "
                    "district, year, verdict, score, coverage, specificity")


def content_hash(text: str) -> str:
    """SHA-256 of the report text (UTF-8), hex: the identity of a text in the history."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class StoreError(RuntimeError):
    """The history database cannot be used; the message names the file and what to do."""


def _advice(path: Path, exc: Exception) -> str:
    text = " ".join(str(exc).split())  # one line, whatever SQLite says
    if "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
        return (f"history database {path} cannot be written ({text}): give the service write access to it "
                f"and its folder, or set FAZHI_DB to a writable file")
    return (f"history database {path} is damaged ({text}): move it aside (the service then starts a new one) "
            f"or restore it from a backup, or set FAZHI_DB to another file")


class ReportStore:
    """Scored reports in the SQLite file at `path` (created with its schema if missing).

    Opening checks the whole file (integrity and that it can be written) and raises
    StoreError with one line naming the file and what to do, so a damaged or read-only
    database stops the service at start-up instead of failing every request later.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as conn:
                # WAL is a property of the file: set once, every later connection uses it.
                # Switching needs a lock that waits for no busy timeout, so only switch once.
                if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
                problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
                if problems != ["ok"]:
                    raise StoreError(_advice(self.path, sqlite3.DatabaseError("; ".join(problems))))
            self.check_writable()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(_advice(self.path, exc)) from exc

    def check_writable(self) -> None:
        """Raise StoreError unless a write transaction can be opened (nothing is written)."""
        try:
            with closing(self._connect()) as conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(_advice(self.path, exc)) from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one write transaction, committed or rolled back, then closed."""
        with closing(self._connect()) as conn:
            # IMMEDIATE takes the write lock up front, so the look-up and the insert in `add`
            # cannot interleave with another process doing the same.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with closing(self._connect()) as conn:
            return conn.execute(sql, params).fetchall()

    def add(self, result: dict, *, content_hash: str, title: str, filename: str | None,
            source: str, district: str | None = None, year: int | None = None) -> int:
        """Store a `score_report` result and return its row id.

        A text is scored once per model version: if a row with the same
        (content_hash, model_version) exists, its id is returned and nothing is written, even
        if the title, file name or source differ (the first upload's are kept).
        """
        model_version = str(result.get("model_version", ""))
        row = (datetime.now(timezone.utc).isoformat(timespec="seconds"), content_hash,
               model_version, title, filename, source, district, year, result["verdict"],
               result.get("score"), result.get("coverage"), result.get("specificity"),
               encode_result(result))
        with self._transaction() as conn:
            existing = conn.execute(
                "SELECT id FROM reports WHERE content_hash = ? AND model_version = ?",
                (content_hash, model_version)).fetchone()
            if existing is not None:
                return int(existing["id"])
            cursor = conn.execute(
                "INSERT INTO reports (created_at, content_hash, model_version, title, filename, "
                "source, district, year, verdict, score, coverage, specificity, result_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            return int(cursor.lastrowid)

    def find(self, content_hash: str, model_version: str) -> dict | None:
        """The stored report for this text and model version (with its result), if any."""
        rows = self._query("SELECT * FROM reports WHERE content_hash = ? AND model_version = ?",
                           (content_hash, model_version))
        return _with_result(rows[0]) if rows else None

    def get(self, report_id: int) -> dict | None:
        """One stored report with its decoded result under "result", or None."""
        if not 0 < int(report_id) <= _SQLITE_MAX_INT:
            return None
        rows = self._query("SELECT * FROM reports WHERE id = ?", (int(report_id),))
        return _with_result(rows[0]) if rows else None

    def list(self, limit: int = 50, offset: int = 0) -> list[dict]:
        """Stored reports, newest first, without their results."""
        rows = self._query(f"SELECT {_SUMMARY_COLUMNS} FROM reports ORDER BY id DESC LIMIT ? OFFSET ?",
                           (_bounded(limit), _bounded(offset)))
        return [dict(row) for row in rows]

    def count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM reports")[0][0])

    def prune(self, *, older_than_days: float | None = None, keep: int | None = None,
              vacuum: bool = False) -> int:
        """Delete the reports scored more than `older_than_days` ago and/or all but the newest
        `keep`; returns how many were deleted. `vacuum` then gives the space back to the disk."""
        if older_than_days is None and keep is None:
            raise ValueError("prune needs an age (older_than_days) or a count (keep)")
        deleted = 0
        with self._transaction() as conn:
            if older_than_days is not None:
                cutoff = (datetime.now(timezone.utc) - timedelta(days=older_than_days)).isoformat(timespec="seconds")
                deleted += conn.execute("DELETE FROM reports WHERE created_at < ?", (cutoff,)).rowcount
            if keep is not None:
                deleted += conn.execute(
                    "DELETE FROM reports WHERE id NOT IN (SELECT id FROM reports ORDER BY id DESC LIMIT ?)",
                    (_bounded(keep),)).rowcount
        if vacuum:
            with closing(self._connect()) as conn:
                conn.execute("VACUUM")
        return deleted


def _bounded(value: int) -> int:
    return min(max(0, int(value)), _SQLITE_MAX_INT)


def _with_result(row: sqlite3.Row) -> dict:
    record = dict(row)
    record["result"] = decode_result(record.pop("result_json"))
    return record
