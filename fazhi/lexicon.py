"""jieba's dictionary as an on-disk index, for a tokenizer that holds only the words of its texts.

Why: `import rjieba` builds its whole dictionary (349,000 words) before anything else happens,
0.11–0.2 s: most of a one-line command's start-up. jieba cuts a text by the dictionary words that
occur in it, their frequencies and the dictionary's total frequency, nothing else: the DAG holds
the words found at each position, a route's weight is the sum of ln(freq) - ln(total), and the
HMM is asked about runs that are not words. So a tokenizer that holds the text's words with
their frequencies, and one placeholder word (found in no text it cuts) that brings the total up
to the whole dictionary's, cuts the text exactly as the whole dictionary does.
`fazhi.tokenizer` uses one for short inputs and checks it against the whole dictionary when the
index is built.

The index is a SQLite file of (word, frequency) made once from jieba's dict.txt (the dictionary
rjieba embeds) and the domain dictionary, kept in the user's cache directory under a name that is
a checksum of the domain dictionary and of the installed dict.txt's and rjieba binary's size and
modification time: a changed source is a different file, never a stale one. When the cache directory cannot be written, there is no index and the tokenizer
loads the whole dictionary, as before.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sqlite3
import sys
import threading
import zlib
from contextlib import closing
from pathlib import Path

from fazhi.paths import USER_DICT_FILE

CACHE_DIR_ENV = "FAZHI_CACHE_DIR"
_FORMAT = 1          # bump when the index's layout changes
_QUERY_CHUNK = 900   # words per `IN (…)` query, under SQLite's smallest variable limit
PLACEHOLDER = "\ue000"  # a private-use character: no report's word


class UnreadableIndex(Exception):
    """The index file could not be read (damaged since it was built)."""


def cache_dir() -> Path | None:
    """$FAZHI_CACHE_DIR, else $XDG_CACHE_HOME/fazhi, else ~/.cache/fazhi (None: no home)."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "fazhi"
    try:
        return Path.home() / ".cache" / "fazhi"
    except RuntimeError:
        return None


def _package_file(package: str, name_matches) -> Path | None:
    """A file of an installed package, found without importing it (importing rjieba is what
    costs the time)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        for path in sorted(Path(location).iterdir()):
            if name_matches(path.name):
                return path
    return None


def jieba_dictionary_file() -> Path | None:
    return _package_file("jieba", lambda name: name == "dict.txt")


def rjieba_extension_file() -> Path | None:
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return _package_file("rjieba", lambda name: name.startswith("rjieba.") and name.endswith(suffixes))


def rjieba_class():
    """rjieba's `Jieba` class, without running the package's __init__ (which builds the default
    dictionary). The extension is registered under its own name, so a later `import rjieba`
    uses this module instead of initializing it a second time."""
    if "rjieba" in sys.modules:
        return sys.modules["rjieba"].Jieba
    if "rjieba.rjieba" not in sys.modules:
        path = rjieba_extension_file()
        if path is None:
            raise ImportError("rjieba's extension module was not found")
        spec = importlib.util.spec_from_file_location("rjieba.rjieba", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["rjieba.rjieba"] = module
    return sys.modules["rjieba.rjieba"].Jieba


def _checksum(content: tuple[Path, ...], installed: tuple[Path, ...]) -> str:
    """Of the domain dictionary's content, and of the installed files' size and modification
    time (as Python checks its bytecode cache: reading 10 MB would cost more than the rest of
    opening the index)."""
    crc = zlib.crc32(str(_FORMAT).encode())
    for path in content:
        crc = zlib.crc32(path.read_bytes(), crc)
    for path in installed:
        stat = path.stat()
        crc = zlib.crc32(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode(), crc)
    return f"{crc:08x}"


def dictionary_entries(path: Path):
    """(word, frequency or None, tag or None) of each line of a jieba dictionary file."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if parts:
                yield parts[0], int(parts[1]) if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None


def read_dictionary(dictionary: Path) -> dict[str, int]:
    """word → frequency as rjieba holds them: its dictionary file (a missing frequency is 0, a
    repeated word's last line wins), then each domain word's frequency set (`add_word` with a
    frequency)."""
    words = {word: freq or 0 for word, freq, _tag in dictionary_entries(dictionary)}
    for word, freq, _tag in dictionary_entries(USER_DICT_FILE):
        if freq is None:  # rjieba would guess one from the whole dictionary: not reproducible
            raise ValueError(f"domain word {word!r} has no frequency")
        words[word] = freq
    return words


class Lexicon:
    """The index: the frequency of each dictionary word found in a text, the total frequency,
    and whether a tokenizer built from it was checked to cut as the whole dictionary does."""

    def __init__(self, path: Path):
        self.path = path
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        meta = dict(self._db.execute("SELECT key, value FROM meta"))
        self.total = int(meta["total"])
        self.longest = int(meta["longest"])
        self.checked = meta.get("checked") == "1"

    def frequencies(self, candidates) -> dict[str, int]:
        """The dictionary words among `candidates` with their frequencies."""
        candidates = list(candidates)
        found: dict[str, int] = {}
        try:
            for start in range(0, len(candidates), _QUERY_CHUNK):
                chunk = candidates[start:start + _QUERY_CHUNK]
                found.update(self._db.execute(
                    f"SELECT word, freq FROM words WHERE word IN ({','.join('?' * len(chunk))})", chunk))
        except sqlite3.Error as exc:
            raise UnreadableIndex(f"{self.path}: {exc}") from exc
        return found

    def words(self) -> list[str]:
        """Every word, in order."""
        return [word for (word,) in self._db.execute("SELECT word FROM words ORDER BY word")]

    def mark_checked(self, checked: bool):
        """Record whether a tokenizer of these words was found to cut as the whole dictionary
        does (-1: it was not; the index is then left unused)."""
        with closing(sqlite3.connect(self.path)) as db, db:  # closed, after committing
            db.execute("UPDATE meta SET value = ? WHERE key = 'checked'", ("1" if checked else "-1",))
        self.checked = checked

    def close(self):
        self._db.close()


def _write(path: Path, read_words):
    """Write the index to a temporary file and move it into place, so that a reader never sees
    half of one and two processes building it at once both end with a whole file. The file is
    created before the dictionary is read: an unwritable cache costs nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    db = sqlite3.connect(temporary)
    try:
        db.execute("CREATE TABLE words (word TEXT PRIMARY KEY, freq INTEGER NOT NULL) WITHOUT ROWID")
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        words = read_words()
        db.executemany("INSERT INTO words VALUES (?, ?)", words.items())
        db.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("total", str(sum(words.values()))), ("longest", str(max(map(len, words)))), ("checked", "0")])
        db.commit()
    except BaseException:
        db.close()
        temporary.unlink(missing_ok=True)
        raise
    db.close()
    os.replace(temporary, path)


def index_path() -> Path | None:
    """Where the index of the installed dictionaries is (or goes); None without them."""
    dictionary, extension, directory = jieba_dictionary_file(), rjieba_extension_file(), cache_dir()
    if dictionary is None or extension is None or directory is None:
        return None
    return directory / f"jieba-words-{_checksum((USER_DICT_FILE,), (dictionary, extension))}.sqlite"


def open_index() -> tuple[Lexicon, bool] | None:
    """The index (built first if missing or damaged) and whether it was built just now; None
    where it cannot be built or read (no cache directory, a read-only disk)."""
    path = index_path()
    if path is None:
        return None
    try:
        if path.is_file():
            try:
                return Lexicon(path), False
            except (sqlite3.Error, KeyError, ValueError):
                pass  # damaged since it was written: built again
        _write(path, lambda: read_dictionary(jieba_dictionary_file()))
        return Lexicon(path), True
    except (OSError, sqlite3.Error, KeyError, ValueError):
        return None


class TextWordsTokenizer:
    """An rjieba tokenizer that grows with its texts: before cutting a text it adds the
    dictionary words the text holds (looked up in the index) and sets the placeholder's
    frequency so that the total is the whole dictionary's."""

    def __init__(self, lexicon: Lexicon):
        self.lexicon = lexicon
        self._jieba = None
        self._looked_up: set[str] = set()
        self._held = 0  # the frequencies of the words added
        self._lock = threading.Lock()  # one text at a time: each cut adds words

    def words_of(self, text: str) -> dict[str, int]:
        """The dictionary words in `text` not added yet."""
        longest, n = self.lexicon.longest, len(text)
        candidates = {text[i:i + k] for i in range(n) for k in range(1, min(longest, n - i) + 1)}
        candidates -= self._looked_up
        self._looked_up |= candidates
        return self.lexicon.frequencies(candidates)

    def cut(self, text: str) -> list[str]:
        if PLACEHOLDER in text:
            raise ValueError("text holds the placeholder character")
        with self._lock:
            if self._jieba is None:
                self._jieba = rjieba_class().empty()
            new = self.words_of(text)
            for word, freq in new.items():
                self._jieba.add_word(word, freq, None)
            self._held += sum(new.values())
            # add_word of a word it holds replaces the frequency and corrects the total.
            self._jieba.add_word(PLACEHOLDER, self.lexicon.total - self._held, None)
            return self._jieba.cut(text, hmm=True)

    def suggest_freq(self, segment: str) -> int:
        """rjieba's suggested frequency of a segment this tokenizer has cut."""
        return self._jieba.suggest_freq(segment)
