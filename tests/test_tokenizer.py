"""fazhi.tokenizer: domain terms survive jieba, width does not matter, the tokenizer pickles,
and starting it is silent."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

import fazhi.tokenizer
from fazhi.features import word_tfidf, word_tokens
from fazhi.paths import PROJ_ROOT
from fazhi.tokenizer import normalize, tokenize

# Real sentences of the seed reports (000, 001), each holding one of the terms.
DOMAIN_TERMS = [
    ("放管服", "深化“放管服”改革,努力营造法治化营商环境"),
    ("双随机一公开", "全面落实“双随机一公开”监管模式创新，特别是要强化事中事后监管。"),
    ("规范性文件", "2017年，区政府严格按照法定程序制发规范性文件10件，并按时向市政府法制办和市人大常委会备案。"),
    ("两法衔接", "加强“两法衔接”制度建设, 改善行政与司法衔接水平。"),
    ("三项制度", "推动行政执法“三项制度”全面落地。"),
    ("一网通办", "“一网通办”,实现掌上办。"),
]


BACKENDS = getattr(fazhi.tokenizer, "BACKENDS", ("jieba",))


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    """Each tokenizer backend in turn; the configured one is restored afterwards."""
    fazhi.tokenizer.initialize(backend=request.param)
    yield request.param
    fazhi.tokenizer.initialize(backend=None)


@pytest.mark.parametrize("term,sentence", DOMAIN_TERMS, ids=[t for t, _ in DOMAIN_TERMS])
def test_domain_terms_stay_whole(backend, term, sentence):
    tokens = tokenize(sentence)
    assert term in tokens, tokens
    assert "".join(tokens) == "".join(normalize(sentence).split())


def test_domain_terms_stay_whole_without_quotes(backend):
    tokens = tokenize("区政府深化放管服改革，推行一网通办，落实两法衔接和三项制度。")
    assert {"放管服", "一网通办", "两法衔接", "三项制度"} <= set(tokens)


def test_no_whitespace_tokens():
    tokens = tokenize("加强“两法衔接”制度建设, 改善行政  与司法衔接水平。\u3000")
    assert tokens and not any(t.isspace() or not t for t in tokens)


def test_full_width_and_half_width_punctuation_tokenise_the_same(backend):
    full = "（一）取消区级行政权力事项９１项，占比１３.２％；下放事项：２５９项！是否依法？"
    half = "(一)取消区级行政权力事项91项,占比13.2%;下放事项:259项!是否依法?"
    assert normalize(full) == half
    assert tokenize(full) == tokenize(half)
    assert "91" in tokenize(full) and "!" in tokenize(full)


def test_tokenize_pickles_by_reference():
    restored = pickle.loads(pickle.dumps(fazhi.tokenizer.tokenize))
    assert restored is fazhi.tokenizer.tokenize
    assert restored("深化放管服改革") == ["深化", "放管服", "改革"]


def test_fitted_vectorizer_with_word_tokens_pickles():
    corpus = [s for _, s in DOMAIN_TERMS]
    for vectorizer in (TfidfVectorizer(tokenizer=word_tokens, token_pattern=None, lowercase=False),
                       word_tfidf()):
        vectorizer.fit(corpus)
        restored = pickle.loads(pickle.dumps(vectorizer))
        assert restored.vocabulary_ == vectorizer.vocabulary_
        assert "放管服" in restored.vocabulary_ and "两法衔接" in restored.vocabulary_
        assert (restored.transform(corpus) != vectorizer.transform(corpus)).nnz == 0


def test_a_batch_is_cut_into_the_same_tokens_as_each_text(backend):
    from fazhi.labels import load_labels
    from fazhi.splitter import split_sentences, split_units

    texts = [u.text for u in load_labels()] + [
        s for path in sorted((PROJ_ROOT / "data" / "reports").glob("*.txt"))
        for text in [path.read_text(encoding="utf-8")]
        for s in [u.text for u in split_units(text)] + split_sentences(text)]
    odd = ["", " ", "a\nb", "末尾\r", "\r开头", "\r\n", "１２３\u3000４", "\n\n", "abc def", "\x00", "\u2028中\x85"]
    # Plain sentences (one call, the separators the only whitespace) and odd ones among them.
    for batch in (texts, texts[:50] + odd + texts[50:100], odd, odd[::-1]):
        tokens, text_of = fazhi.tokenizer.tokenize_all(batch)
        per_text = [[] for _ in batch]
        for token, i in zip(tokens, text_of.tolist()):
            per_text[i].append(token)
        assert per_text == [tokenize(t) for t in batch]


def test_word_tokens_fold_numbers():
    assert word_tokens("办理行政复议案件43件") == word_tokens("办理行政复议案件7件")
    assert "0" in word_tokens("办理行政复议案件43件")


VENV_PYTHON = PROJ_ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable


def _run(code: str, *flags: str, tmpdir=None, backend=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS", "PYTHONDEVMODE", "FAZHI_TOKENIZER")}
    if backend:
        env["FAZHI_TOKENIZER"] = backend
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)  # no jieba cache there yet: the cold start
    return subprocess.run([PYTHON, *flags, "-c", code], capture_output=True, text=True,
                          cwd=PROJ_ROOT, env=env, timeout=120)


@pytest.mark.parametrize("name", BACKENDS)
def test_initialising_writes_nothing_to_stderr(tmp_path, name):
    for tmpdir in (None, tmp_path):
        done = _run("import fazhi.tokenizer as t; t.initialize(); print(t.tokenize('深化放管服改革'))",
                    tmpdir=tmpdir, backend=name)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        assert done.stdout.strip() == "['深化', '放管服', '改革']"


def test_initialising_leaves_no_file_open():
    done = _run("import fazhi.tokenizer as t; t.initialize()", "-W", "default::ResourceWarning")
    assert done.returncode == 0
    assert done.stderr == ""


def test_normalize_is_nfkc():
    import random
    import unicodedata

    rng = random.Random(3)
    # ASCII, its full-width forms, and characters that compose, decompose or widen around them.
    chars = [chr(c) for c in [*range(0x20, 0x7F), *range(0xFF01, 0xFF5F), 0x301, 0x323, 0x3000, 0x2460, 0x2103,
                              0x4E00, 0x3001, 0xFF61, 0xFFE5, 0x1E9B, 0xA0]]
    for _ in range(50_000):
        text = "".join(rng.choice(chars) for _ in range(rng.randint(0, 8)))
        assert normalize(text) == unicodedata.normalize("NFKC", text), text
