"""History of scored reports in SQLite: one row per (text, model version).

A row keeps the numbers people sort and filter by (score, coverage, specificity, verdict,
model version, district, year) as columns and the whole `score_report` result as compact JSON
compressed with zlib (15–20 KB for an annual report instead of 60–80 KB; rows written before
this as plain JSON text still read). `prune` removes old rows by age or count, never a
reviewed one.

Reviewers' decisions (one row each, the newest per unit in force), reviewer accounts (salted
password hashes from werkzeug.security, API tokens by digest) and failed logins live in the
same file, so every server worker sees the same accounts and the same login limit.

Every call opens its own connection and closes it, so one `ReportStore` may be shared by
threads, and several processes (server workers, a batch runner) may use the same file: the
database runs in WAL mode (readers never wait for the writer) with a busy timeout for
concurrent writers. An in-memory database (":memory:") is therefore not supported.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
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
-- A reviewer's decision on one unit of a stored report: a confirmation (new labels equal the
-- model's) or a correction. The newest decision on a unit is the one in force; earlier ones
-- stay as its history. Rows are never updated or deleted by the service.
CREATE TABLE IF NOT EXISTS decisions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id     INTEGER NOT NULL REFERENCES reports (id),
    unit_index    INTEGER NOT NULL,
    start         INTEGER,
    end           INTEGER,
    kind          TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    old_area      TEXT,
    old_category  TEXT,
    new_area      TEXT    NOT NULL,
    new_category  TEXT,
    model_version TEXT    NOT NULL,
    reviewer      TEXT    NOT NULL,
    decided_at    TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_by_unit ON decisions (report_id, unit_index, id);
CREATE TABLE IF NOT EXISTS reviewers (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    token_hash    TEXT,
    created_at    TEXT NOT NULL
);
-- Failed logins, by reviewer name and by client address, for rate limiting across workers.
CREATE TABLE IF NOT EXISTS login_failures (
    key           TEXT NOT NULL,
    at            REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_by_key ON login_failures (key, at);
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


def _held_by_another(exc: Exception) -> bool:
    """Whether SQLite gave up waiting for a lock another connection holds ("database is
    locked"): its result code, extended codes such as SQLITE_BUSY_RECOVERY included."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _advice(path: Path, exc: Exception) -> str:
    text = " ".join(str(exc).split())  # one line, whatever SQLite says
    if "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
        return (f"history database {path} cannot be written ({text}): give the service write access to it "
                f"and its folder, or set FAZHI_DB to a writable file")
    if _held_by_another(exc):
        return (f"history database {path} is busy ({text}): another process held it for longer than "
                f"{BUSY_TIMEOUT_SECONDS:g} s; try again, or set FAZHI_DB to another file")
    return (f"history database {path} is damaged ({text}): move it aside (the service then starts a new one) "
            f"or restore it from a backup, or set FAZHI_DB to another file")


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode unless it is already (a property of the file: set once, every
    later connection uses it). The switch takes a lock that SQLite does not wait for, so
    processes opening a new file together (server workers, a batch) can meet "database is
    locked": then retry, within the busy timeout, until one of them has switched it."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if not _held_by_another(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class ReportStore:
    """Scored reports in the SQLite file at `path` (created with its schema if missing).

    Opening checks the whole file (integrity and that it can be written) and raises
    StoreError with one line naming the file and what to do, so a damaged or read-only
    database stops the service at start-up instead of failing every request later.
    """

    def __init__(self, path: Path | str, *, check: bool = True):
        self.path = Path(path)
        if not check:  # a process beside one that has just checked the file (a batch worker)
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as conn:
                _switch_to_wal(conn)
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
        (content_hash, model_version) exists, its id is returned and only its title and file
        name change to this upload's (a person who re-uploads under another name expects to
        see that name).
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
                if filename is not None or title:
                    conn.execute("UPDATE reports SET title = ?, filename = COALESCE(?, filename) WHERE id = ?",
                                 (title, filename, existing["id"]))
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
        `keep`, except reports with review decisions; returns how many were deleted. `vacuum` then gives the space back to the disk."""
        if older_than_days is None and keep is None:
            raise ValueError("prune needs an age (older_than_days) or a count (keep)")
        deleted = 0
        # Reviewed reports are kept whatever their age: their decisions are labels in the making.
        unreviewed = "id NOT IN (SELECT report_id FROM decisions)"
        with self._transaction() as conn:
            if older_than_days is not None:
                cutoff = (datetime.now(timezone.utc) - timedelta(days=older_than_days)).isoformat(timespec="seconds")
                deleted += conn.execute(f"DELETE FROM reports WHERE created_at < ? AND {unreviewed}",
                                        (cutoff,)).rowcount
            if keep is not None:
                deleted += conn.execute(
                    f"DELETE FROM reports WHERE id NOT IN (SELECT id FROM reports ORDER BY id DESC LIMIT ?) "
                    f"AND {unreviewed}", (_bounded(keep),)).rowcount
        if vacuum:
            with closing(self._connect()) as conn:
                conn.execute("VACUUM")
        return deleted

    # --- review decisions ------------------------------------------------------------

    def add_decision(self, report_id: int, unit_index: int, *, new_area: str, new_category: str | None,
                     reviewer: str, record: dict | None = None) -> dict:
        """Record a reviewer's decision on unit `unit_index` of a stored report, in one
        transaction, with the unit's text, offsets and the model's labels as they were; returns
        the stored decision. `record` is the report as `get` returns it, when the caller has
        read it already. Raises KeyError for an unknown report or unit."""
        record = record if record is not None else self.get(report_id)
        if record is None:
            raise KeyError(f"no report {report_id}")
        units = record["result"]["sentences"]
        if not 0 <= unit_index < len(units):
            raise KeyError(f"report {report_id} has no unit {unit_index}")
        unit = units[unit_index]
        row = dict(report_id=int(report_id), unit_index=int(unit_index), start=unit.get("start"),
                   end=unit.get("end"), kind=unit.get("kind", "body"), text=unit["text"],
                   old_area=unit["area"], old_category=unit.get("category"), new_area=new_area,
                   new_category=new_category, model_version=record["model_version"], reviewer=reviewer,
                   decided_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        with self._transaction() as conn:
            cursor = conn.execute(f"INSERT INTO decisions ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                                  tuple(row.values()))
            row["id"] = int(cursor.lastrowid)
        return row

    def decisions(self, report_id: int) -> dict[int, dict]:
        """The decisions in force on a report's units: unit index → its newest decision."""
        rows = self._query("SELECT * FROM decisions WHERE report_id = ? ORDER BY id", (int(report_id),))
        return {row["unit_index"]: dict(row) for row in rows}

    def decision_history(self, report_id: int) -> list[dict]:
        """Every decision ever made on a report's units, oldest first."""
        return [dict(row) for row in self._query("SELECT * FROM decisions WHERE report_id = ? ORDER BY id",
                                                 (int(report_id),))]

    def reviewed_report_ids(self) -> list[int]:
        return [row[0] for row in self._query("SELECT DISTINCT report_id FROM decisions ORDER BY report_id")]

    # --- reviewer accounts -----------------------------------------------------------

    def add_reviewer(self, name: str, password: str) -> None:
        """Create a reviewer, or set a new password for an existing one (salted hash only)."""
        from werkzeug.security import generate_password_hash

        with self._transaction() as conn:
            conn.execute("INSERT INTO reviewers (name, password_hash, created_at) VALUES (?, ?, ?) "
                         "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash",
                         (name, generate_password_hash(password),
                          datetime.now(timezone.utc).isoformat(timespec="seconds")))

    def reviewers(self) -> list[str]:
        return [row[0] for row in self._query("SELECT name FROM reviewers ORDER BY name")]

    def has_reviewer(self, name: str) -> bool:
        return bool(self._query("SELECT 1 FROM reviewers WHERE name = ?", (name,)))

    def check_password(self, name: str, password: str) -> bool:
        from werkzeug.security import check_password_hash

        rows = self._query("SELECT password_hash FROM reviewers WHERE name = ?", (name,))
        return bool(rows) and check_password_hash(rows[0]["password_hash"], password)

    def new_token(self, name: str) -> str:
        """A new API token for a reviewer (replacing any earlier one); only its hash is kept."""
        token = secrets.token_urlsafe(32)
        with self._transaction() as conn:
            if conn.execute("UPDATE reviewers SET token_hash = ? WHERE name = ?",
                            (_token_hash(token), name)).rowcount == 0:
                raise KeyError(f"no reviewer {name!r}")
        return token

    def reviewer_of_token(self, token: str) -> str | None:
        rows = self._query("SELECT name FROM reviewers WHERE token_hash = ?", (_token_hash(token),))
        return rows[0]["name"] if rows else None

    def record_login_failure(self, *keys: str) -> None:
        now = time.time()
        with self._transaction() as conn:
            conn.executemany("INSERT INTO login_failures (key, at) VALUES (?, ?)", [(k, now) for k in keys])
            # Old failures are of no use to the limit: keep the table small.
            conn.execute("DELETE FROM login_failures WHERE at < ?", (now - 86400,))

    def login_failures(self, key: str, within_seconds: float) -> int:
        return int(self._query("SELECT COUNT(*) FROM login_failures WHERE key = ? AND at >= ?",
                               (key, time.time() - within_seconds))[0][0])


def _token_hash(token: str) -> str:
    # Tokens are 256 random bits: a plain digest suffices (no salt, no stretching), and lets
    # a request's token be found by its hash.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _bounded(value: int) -> int:
    return min(max(0, int(value)), _SQLITE_MAX_INT)


def _with_result(row: sqlite3.Row) -> dict:
    record = dict(row)
    record["result"] = decode_result(record.pop("result_json"))
    return record
