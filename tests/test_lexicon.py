"""fazhi.lexicon: a tokenizer holding only a text's dictionary words cuts it as rjieba's whole
dictionary does; the index is checked when built, named by its sources, and optional."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import fazhi.tokenizer
from fazhi import lexicon
from fazhi.labels import load_labels
from fazhi.paths import PROJ_ROOT, REPORTS_DIR
from fazhi.splitter import split_sentences, split_units
from fazhi.tokenizer import normalize

VENV_PYTHON = PROJ_ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """An index built in a cache directory of its own, and the check's verdict on it."""
    cache = tmp_path_factory.mktemp("cache")
    saved = os.environ.get(lexicon.CACHE_DIR_ENV)
    os.environ[lexicon.CACHE_DIR_ENV] = str(cache)
    try:
        built_index, built = lexicon.open_index()
        assert built
        built_index.mark_checked(fazhi.tokenizer._cuts_as_whole_dictionary(built_index))
        yield built_index
    finally:
        if saved is None:
            del os.environ[lexicon.CACHE_DIR_ENV]
        else:
            os.environ[lexicon.CACHE_DIR_ENV] = saved


@pytest.fixture(scope="module")
def whole():
    return fazhi.tokenizer.build_tokenizer("rjieba")


def _corpus() -> list[str]:
    texts = [u.text for u in load_labels()]
    for path in sorted(REPORTS_DIR.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        texts += [u.text for u in split_units(text)] + split_sentences(text)
    return [normalize(t) for t in texts]


def test_the_index_passes_its_check(index):
    assert index.checked
    assert index.total > 60_000_000 and index.longest >= 4


def test_text_words_cut_as_the_whole_dictionary(index, whole):
    texts = _corpus()
    # One tokenizer per text (a one-line command) and one that grows over all of them.
    grown = lexicon.TextWordsTokenizer(index)
    for text in texts:
        assert lexicon.TextWordsTokenizer(index).cut(text) == whole(text), text
        assert grown.cut(text) == whole(text), text
    joined = "\n".join(texts[:400])
    assert lexicon.TextWordsTokenizer(index).cut(joined) == whole(joined)


def test_odd_texts_cut_the_same(index, whole):
    for text in ["", " ", "a\nb", "\r\n", "１２３\u3000４", "abc def", "\x00", "\u2028中\x85", "𠀀𠀁字",
                 "2023年", "C++与c#", "区长" * 40]:
        assert lexicon.TextWordsTokenizer(index).cut(text) == whole(text), repr(text)


def test_a_frequency_that_differs_fails_the_check(tmp_path, monkeypatch):
    """An index whose frequencies are not rjieba's (a dictionary file rjieba does not embed) is
    found out when built and never used."""
    monkeypatch.setenv(lexicon.CACHE_DIR_ENV, str(tmp_path))
    real = lexicon.read_dictionary

    def skewed(dictionary):
        words = real(dictionary)
        return {w: f * 3 if i % 7 == 0 else f for i, (w, f) in enumerate(words.items())}

    monkeypatch.setattr(lexicon, "read_dictionary", skewed)
    skewed_index, built = lexicon.open_index()
    assert built
    assert not fazhi.tokenizer._cuts_as_whole_dictionary(skewed_index)


def test_the_index_is_named_by_its_sources(tmp_path, monkeypatch):
    monkeypatch.setenv(lexicon.CACHE_DIR_ENV, str(tmp_path))
    before = lexicon.index_path()
    changed = tmp_path / "userdict.txt"
    changed.write_text(fazhi.tokenizer.USER_DICT_FILE.read_text(encoding="utf-8") + "新词语 9 n\n",
                       encoding="utf-8")
    monkeypatch.setattr(lexicon, "USER_DICT_FILE", changed)
    with_new_word = lexicon.index_path()
    assert with_new_word != before and with_new_word.parent == tmp_path
    # Another dict.txt installed (another jieba): another file size or time.
    installed = tmp_path / "dict.txt"
    installed.write_bytes(lexicon.jieba_dictionary_file().read_bytes() + "新词 3 n\n".encode())
    monkeypatch.setattr(lexicon, "jieba_dictionary_file", lambda: installed)
    assert lexicon.index_path() not in (before, with_new_word)


def test_no_cache_directory_means_no_index(tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv(lexicon.CACHE_DIR_ENV, str(blocker / "cache"))
    assert lexicon.open_index() is None
    assert not list(tmp_path.glob("**/*.tmp"))


def _run_reporting_dictionary(code: str, *args: str, cache_dir) -> tuple[str, str]:
    """Run `code` in a fresh process with this cache directory; its output, and which
    tokenizer the process ended with ("text words" or "whole dictionary")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAZHI_")}
    env[lexicon.CACHE_DIR_ENV] = str(cache_dir)
    probe = code + "; import sys; print('whole dictionary' if 'rjieba' in sys.modules else 'text words', file=sys.stderr)"
    done = subprocess.run([PYTHON, "-c", probe, *args],
                          capture_output=True, text=True, env=env, cwd=PROJ_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr.strip()


def _classify_one_line(tmp_path, cache_dir, line: str) -> tuple[str, str]:
    one = tmp_path / "one.txt"
    one.write_text(line + "\n", encoding="utf-8")
    return _run_reporting_dictionary("import sys, fazhi.cli; fazhi.cli.main(['classify', '--sentences', sys.argv[1]])",
                                     str(one), cache_dir=cache_dir)


def test_a_one_line_command_skips_the_whole_dictionary(index, tmp_path):
    line = "市农业农村委制定轻微违法行为不予行政处罚清单，明确3类4种轻微违法行为不予行政处罚情形。"
    fast, how = _classify_one_line(tmp_path, index.path.parent, line)
    assert how == "text words"
    blocker = tmp_path / "not a directory"
    blocker.write_text("")
    slow, how = _classify_one_line(tmp_path, blocker, line)
    assert how == "whole dictionary"
    assert json.loads(fast) == json.loads(slow)


def test_rjieba_imports_after_its_extension_was_loaded_alone():
    code = ("from fazhi import lexicon; lexicon.rjieba_class().empty(); "
            "import rjieba; print(rjieba.cut('深化放管服改革') == rjieba.Jieba().cut('深化放管服改革'))")
    done = subprocess.run([PYTHON, "-c", code],
                          capture_output=True, text=True, cwd=PROJ_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"



def test_a_damaged_index_is_built_again(tmp_path, monkeypatch):
    monkeypatch.setenv(lexicon.CACHE_DIR_ENV, str(tmp_path))
    path = lexicon.index_path()
    path.write_bytes(b"not a database at all" * 100)
    reopened, built = lexicon.open_index()
    assert built and reopened.frequencies(["改革"])["改革"] > 0


def test_an_index_unreadable_while_cutting_gives_way_to_the_whole_dictionary(index, whole, tmp_path):
    copy = tmp_path / index.path.name
    copy.write_bytes(index.path.read_bytes())
    words = lexicon.TextWordsTokenizer(lexicon.Lexicon(copy))
    words.lexicon.close()  # as if the file went away under it
    text = "区司法局组织开展行政执法案卷评查。"
    assert fazhi.tokenizer._cut_by_text_words(words, text) == whole(text)


def test_only_a_command_with_a_short_input_skips_the_whole_dictionary(index, tmp_path):
    """A long input, and a process that did not say how much it will cut (the service, the
    batch), load the whole dictionary: no index is built for them."""
    report = tmp_path / "report.txt"
    report.write_text((REPORTS_DIR / "001_4bbaf42a68c37ea5.txt").read_text(encoding="utf-8"), encoding="utf-8")
    cache = tmp_path / "cache"
    _, how = _run_reporting_dictionary("import sys, fazhi.cli; fazhi.cli.main(['score', sys.argv[1]]); "
                                       "import fazhi.tokenizer as t; t.tokenize('深化放管服改革')",
                                       str(report), cache_dir=cache)
    assert how == "whole dictionary"
    assert not cache.exists()
    _, how = _run_reporting_dictionary("import fazhi.tokenizer as t; t.tokenize('深化放管服改革')", cache_dir=cache)
    assert how == "whole dictionary"
    assert not cache.exists()
