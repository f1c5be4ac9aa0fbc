"""The arithmetic of the sentence features, in numpy only.

Shared by the scikit-learn transformers that training fits (fazhi/features.py) and the
compiled predictor that serves a trained model (fazhi/inference.py), so that both compute
exactly the same numbers and serving imports neither scikit-learn nor scipy (scipy.sparse
alone costs ~0.1 s of every start). Sparse features are `SparseRows`: the entries of a
canonical CSR matrix as numpy arrays, which training wraps in scipy matrices.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from itertools import repeat

import numpy as np

from fazhi.tokenizer import normalize, tokenize, tokenize_all

# Every number becomes "0" (in tokens and character n-grams): "43件" and "7件" are the same feature.
_DIGITS = re.compile(r"\d+(?:\.\d+)?")


class TextBatch(list):
    """Texts featurized together: a list of them, which also keeps what more than one feature
    block (or the area and the category pipeline) reads: each text normalized once, the tokens
    of all texts cut in one call, the character n-grams hashed once. It lives as long as one
    prediction, so memory stays bounded and nothing is cached across documents."""

    def __init__(self, texts):
        super().__init__(texts)
        self._computed = {}

    def computed(self, key, compute):
        if key not in self._computed:
            self._computed[key] = compute()
        return self._computed[key]

    @property
    def normalized(self) -> list[str]:
        return self.computed("normalized", lambda: [normalize(t) for t in self])

    @property
    def tokens(self) -> tuple[list[str], np.ndarray]:
        """All texts' tokens (`tokenize`'s, digits not folded) and the text of each."""
        return self.computed("tokens", lambda: tokenize_all(self.normalized, normalized=True))


def as_batch(texts) -> TextBatch:
    return texts if isinstance(texts, TextBatch) else TextBatch(texts)


@dataclass
class SparseRows:
    """A sparse matrix as its entries in canonical CSR order (by row, then column, each once)."""

    rows: np.ndarray      # int64, the row of each entry
    cols: np.ndarray      # int64
    values: np.ndarray    # float64
    shape: tuple[int, int]

    @property
    def indptr(self) -> np.ndarray:
        indptr = np.zeros(self.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.rows, minlength=self.shape[0]), out=indptr[1:])
        return indptr

    @cached_property
    def row_starts(self) -> tuple[np.ndarray, np.ndarray]:
        """Where the entries of each row that has any start, and those rows."""
        if not len(self.rows):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        new = np.empty(len(self.rows), dtype=bool)
        new[0] = True
        np.not_equal(self.rows[1:], self.rows[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        return starts, self.rows[starts]

    def row_sums(self, weights: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
        """For each row that has entries (`row_starts`), the sum of its values (or of other
        values of the same entries) times the weight of each entry's column, for each row of
        dense weights of shape (k, n_cols): one np.take and np.add.reduceat per row of weights,
        so that nothing larger than one value per entry is ever built. Shape (rows, k)."""
        starts, _ = self.row_starts
        values = self.values if values is None else values
        out = np.empty((weights.shape[0], len(starts)))
        if not len(starts):
            return out.T
        products = np.empty(len(self.cols))
        for k, row in enumerate(weights):
            np.take(row, self.cols, out=products)
            products *= values
            out[k] = np.add.reduceat(products, starts)
        return out.T

    def dot_transposed(self, weights: np.ndarray) -> np.ndarray:
        """self @ weights.T for dense weights of shape (k, n_cols)."""
        out = np.zeros((self.shape[0], weights.shape[0]))
        out[self.row_starts[1]] = self.row_sums(weights)
        return out


def count_entries(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> SparseRows:
    """How often each (row, column) pair occurs, as SparseRows of counts."""
    # The entries are sorted and counted by one key: the row in the high bits, the column in
    # the low bits (no division to split them again). 32 bits hold a chunk of texts and the
    # columns of every block (4,096 texts and 2^20 columns), and sort in about half the time
    # of 64 bits.
    column_bits = max(int(shape[1] - 1).bit_length(), 1)
    row_bits = max(int(shape[0] - 1).bit_length(), 1)
    if row_bits + column_bits > 64:
        raise ValueError("too many rows and columns for a 64-bit key")
    dtype = np.uint32 if row_bits + column_bits <= 32 else np.uint64
    keys = rows.astype(dtype)
    keys <<= dtype(column_bits)
    keys |= cols.astype(dtype, copy=False)
    keys.sort()
    if len(keys):
        new = np.empty(len(keys), dtype=bool)
        new[0] = True
        np.not_equal(keys[1:], keys[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        counts = np.diff(starts, append=len(keys)).astype(np.float64)
        keys = keys[starts]
    else:
        counts = np.zeros(0)
    return SparseRows((keys >> dtype(column_bits)).astype(np.int64), (keys & dtype((1 << column_bits) - 1)).astype(np.int64),
                      counts, shape)


def own_columns(counts: SparseRows, columns: np.ndarray | None, width: int) -> SparseRows:
    """A block's entries of counts that blocks share (over the union of their columns):
    `columns[c]` is the block's column of shared column c, -1 where it has none. Increasing
    where it is not -1, so the entries stay in CSR order; None: the counts are the block's own."""
    if columns is None:
        return counts
    mine = columns[counts.cols]
    kept = mine >= 0
    return SparseRows(counts.rows[kept], mine[kept].astype(np.int64), counts.values[kept], (counts.shape[0], width))


def tfidf_rows(counts: SparseRows, idf: np.ndarray, sublinear_tf: bool) -> SparseRows:
    """Raw counts → (1 + log) tf · idf, each row scaled to unit length."""
    data = counts.values.astype(np.float64)
    if sublinear_tf:
        data = np.log(data) + 1.0
    data *= idf[counts.cols]
    norms = np.sqrt(np.bincount(counts.rows, weights=data * data, minlength=counts.shape[0]))
    norms[norms == 0] = 1.0
    data /= norms[counts.rows]
    return SparseRows(counts.rows, counts.cols, data, counts.shape)


def sublinear_tf(counts: np.ndarray) -> np.ndarray:
    """1 + log(count) of counts (float64 whole numbers ≥ 1), looked up in a table of the few
    distinct counts there are instead of a logarithm per entry (the same numbers)."""
    whole = counts.astype(np.intp)
    if not len(whole):
        return np.zeros(0)
    table = np.log(np.arange(1, whole.max() + 1, dtype=np.float64)) + 1.0
    return table[whole - 1]


def shared_tf(counter, batch: TextBatch, sublinear: bool) -> tuple[SparseRows, np.ndarray, np.ndarray]:
    """A counter's counts in a batch, each entry's tf and its square: once per batch for all
    the blocks that share the counter."""
    def compute():
        counts = counter.counts(batch)
        tf = sublinear_tf(counts.values) if sublinear else counts.values
        return counts, tf, tf * tf

    return batch.computed((counter, "tf", sublinear), compute)


def add_tfidf_decisions(counts: SparseRows, tf: np.ndarray, tf_squared: np.ndarray, idf_squared: np.ndarray,
                        weights_by_idf: np.ndarray, scores: np.ndarray) -> None:
    """scores += tfidf_rows(counts) @ weights.T, given each entry's tf (and its square), the
    squared idf of each column, and the weights already multiplied by each column's idf
    (shape (k, n_cols)): each row's sums divided by the row's norm once, instead of every
    entry by it (the same numbers to rounding). A column whose idf is 0 (none of this
    block's: counters are shared) adds nothing to a norm or a sum."""
    starts, filled = counts.row_starts
    if not len(starts):
        return
    norms = np.sqrt(np.add.reduceat(np.take(idf_squared, counts.cols) * tf_squared, starts))
    norms[norms == 0] = 1.0
    sums = counts.row_sums(weights_by_idf, tf)
    sums /= norms[:, None]
    scores[filled] += sums


_TOKEN_SEPARATOR = "\x00"


def word_tokens(text: str) -> list[str]:
    """jieba tokens with numbers folded (a module-level function, so it pickles)."""
    # One substitution over the tokens joined by a separator that no number spans, instead of
    # one per token: the same tokens, folded.
    raw = tokenize(text)
    if raw and _TOKEN_SEPARATOR not in text:
        return _DIGITS.sub("0", _TOKEN_SEPARATOR.join(raw)).split(_TOKEN_SEPARATOR)
    return [_DIGITS.sub("0", t) for t in raw]


class VocabularyCounter:
    """Counts of a fitted vocabulary's word n-grams in a batch of texts, looked up with numpy
    instead of building an n-gram string per position.

    Every token the vocabulary's n-grams are made of has a number; an n-token sequence that
    begins some vocabulary n-gram is numbered from its (n-1)-token prefix's number and its
    last token (one sorted table per length), so all positions of all texts are looked up at
    once. The vocabulary's keys are scikit-learn's n-grams joined by a space, and jieba's
    tokens (whitespace dropped) never hold one, so a key split at spaces gives its tokens.
    The tables are built when compiling and pickled with the model (building them costs more
    than loading them).
    """

    def __init__(self, vocabulary: dict[str, int], ngram_range: tuple[int, int]):
        low, high = ngram_range
        grams = {tuple(key.split(" ")): column for key, column in vocabulary.items()}
        if any(not low <= len(g) <= high or "" in g for g in grams):
            raise ValueError("a vocabulary key is not an n-gram of the fitted range")
        token_id: dict[str, int] = {}
        for gram in grams:
            for token in gram:
                token_id.setdefault(token, len(token_id))
        n_tokens = len(token_id)
        unigram_columns = np.full(n_tokens, -1, dtype=np.int64)
        for gram, column in grams.items():
            if len(gram) == 1:
                unigram_columns[token_id[gram[0]]] = column
        numbers = {(token,): number for token, number in token_id.items()}  # of the 1-token prefixes
        levels = []  # for n = 2..high: sorted keys of the n-token prefixes, their numbers, columns
        for n in range(2, high + 1):
            prefixes = sorted({gram[:n] for gram in grams if len(gram) >= n})
            keys = np.array([numbers[p[:-1]] * n_tokens + token_id[p[-1]] for p in prefixes], dtype=np.int64)
            columns = np.array([grams.get(p, -1) for p in prefixes], dtype=np.int64)
            order = np.argsort(keys)
            levels.append((keys[order], order.astype(np.int64), columns[order]))
            numbers = {p: i for i, p in enumerate(prefixes)}
        self.n_columns = len(vocabulary)
        self.ngram_range = (low, high)
        self.token_id = token_id
        self.unigram_columns = unigram_columns
        self.levels = levels
        # The few tokens that folding digits changes ("0.0" → "0"): met as cut, they are
        # folded like unknown ones, not taken as they are.
        self.refolded = np.array(sorted(i for t, i in token_id.items() if _DIGITS.sub("0", t) != t), dtype=np.int64)

    def cut_numbers(self, batch: TextBatch) -> np.ndarray:
        """The number of each of a batch's tokens as cut (digits not folded), -1 if none; looked
        up once per batch, for this counter and for a rarity block that reads the same table
        (`RareVocabulary.link`)."""
        batch = as_batch(batch)
        tokens = batch.tokens[0]
        return batch.computed((self, "cut numbers"), lambda: np.fromiter(
            map(self.token_id.get, tokens, repeat(-1)), dtype=np.int64, count=len(tokens)))

    def token_numbers(self, batch: TextBatch) -> np.ndarray:
        """The number of each of a batch's tokens after folding digits (`word_tokens`), -1 if no
        vocabulary n-gram holds it. Folding leaves most tokens as they are: they are looked up
        as cut (`cut_numbers`), and only the others (unknown as cut) are folded and looked up
        again."""
        token_id = self.token_id
        tokens = batch.tokens[0]
        numbers = self.cut_numbers(batch).copy()  # the batch's look-ups stay as cut for others
        if len(self.refolded):
            numbers[np.isin(numbers, self.refolded)] = -1
        unknown = np.flatnonzero(numbers < 0)
        if len(unknown):
            others = [tokens[i] for i in unknown.tolist()]
            joined = _TOKEN_SEPARATOR.join(others)
            folded = (_DIGITS.sub("0", joined).split(_TOKEN_SEPARATOR)
                      if joined.count(_TOKEN_SEPARATOR) == len(others) - 1 else [_DIGITS.sub("0", t) for t in others])
            numbers[unknown] = np.fromiter(map(token_id.get, folded, repeat(-1)), dtype=np.int64,
                                           count=len(folded))
        return numbers

    def counts(self, batch: TextBatch) -> SparseRows:
        """The counts in a batch, computed once per batch (blocks that share this counter read them)."""
        batch = as_batch(batch)
        return batch.computed((self, "counts"), lambda: self._counts(batch))

    def _counts(self, batch: TextBatch) -> SparseRows:
        low, high = self.ngram_range
        text_of = batch.tokens[1]
        numbers = self.token_numbers(batch)
        n_tokens = len(self.unigram_columns)
        rows, cols = [], []
        if low == 1:
            known = np.flatnonzero(numbers >= 0)
            found = self.unigram_columns[numbers[known]]
            rows.append(text_of[known][found >= 0])
            cols.append(found[found >= 0])
        prefix = numbers  # prefix[i]: the number of the (n-1)-token sequence starting at token i
        for n, (keys, prefix_numbers, columns) in enumerate(self.levels, start=2):
            if not len(keys):
                break
            last = numbers[n - 1:]
            prefix = prefix[:len(last)]
            candidates = np.flatnonzero((prefix >= 0) & (last >= 0) & (text_of[:len(last)] == text_of[n - 1:]))
            wanted = prefix[candidates] * n_tokens + last[candidates]
            at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
            hit = keys[at] == wanted
            prefix = np.full(len(last), -1, dtype=np.int64)
            prefix[candidates[hit]] = prefix_numbers[at[hit]]
            if n >= low:
                found = columns[at[hit]]
                rows.append(text_of[candidates[hit]][found >= 0])
                cols.append(found[found >= 0])
        rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        cols = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        return count_entries(rows, cols, (len(batch), self.n_columns))


def char_ngram_hashes(texts, ngram_range: tuple[int, int], n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """The text and the hash bucket of every character n-gram (digits folded), for all texts
    in one numpy pass; once per batch and settings (callers only read them)."""
    batch = as_batch(texts)
    return batch.computed(("char_ngrams", tuple(ngram_range), n_buckets),
                          lambda: _char_ngram_hashes(batch, ngram_range, n_buckets))


def _char_ngram_hashes(batch: TextBatch, ngram_range, n_buckets):
    rows, buckets = [], []
    for starts, hashed, inside in _ngram_buckets(batch, ngram_range, n_buckets):
        rows.append(starts if inside is None else starts[inside])
        buckets.append((hashed if inside is None else hashed[inside]).astype(np.int64))
    rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    buckets = np.concatenate(buckets) if buckets else np.zeros(0, dtype=np.int64)
    return rows, buckets


_HASH_STEP = np.uint64(1_000_003)


def _ngram_buckets(batch: TextBatch, ngram_range, n_buckets):
    """For each n of the range: the text of each position of the batch's texts laid end to
    end (digits folded), the bucket of the n-gram starting there (uint64), and whether that
    n-gram lies inside one text (None for n = 1: all do)."""
    # Digits folded in one substitution over the joined texts where they hold no newline of
    # their own (no number spans one), else text by text.
    joined = "\n".join(batch.normalized)
    if joined.count("\n") == len(batch) - 1:
        texts = _DIGITS.sub("0", joined).split("\n")
    else:
        texts = [_DIGITS.sub("0", t) for t in batch.normalized]
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    # One array of code points for all texts; doc_of[i] is the text of position i.
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    doc_of = np.repeat(np.arange(len(texts)), lengths)
    low, high = ngram_range
    # For a power of two, the remainder is the low bits: the same buckets, without a division.
    power_of_two = n_buckets & (n_buckets - 1) == 0
    polynomial = None
    for n in range(1, high + 1):
        if len(codes) < n:
            break
        # The polynomial hash of the n code points starting at each position, from that of
        # the n - 1 starting there: ((c0·B + c1)·B + c2)…
        if polynomial is None:
            polynomial = codes
        else:
            polynomial = polynomial[:-1] * _HASH_STEP
            polynomial += codes[n - 1:]
        if n < low:
            continue
        hashed = polynomial * np.uint64(31)
        hashed += np.uint64(n)
        if power_of_two:
            hashed &= np.uint64(n_buckets - 1)
        else:
            hashed %= np.uint64(n_buckets)
        starts = doc_of[:len(hashed)]
        yield starts, hashed, (None if n == 1 else starts == doc_of[n - 1:])  # not spanning two texts


def char_ngram_counts(texts, ngram_range: tuple[int, int], n_buckets: int) -> SparseRows:
    """Counts of hashed character n-grams (digits folded), one column per bucket."""
    rows, buckets = char_ngram_hashes(texts, ngram_range, n_buckets)
    return count_entries(rows, buckets, (len(texts), n_buckets))


class CharNgramCounter:
    """Counts of hashed character n-grams in the buckets some fitted block has a column for
    (`buckets`, sorted; the others weigh 0 and are dropped before counting), one column per
    bucket in bucket order. The character blocks of the same settings (the area and the
    category pipeline's) share one counter over the union of their buckets, so a batch's
    n-grams are counted once; each block then takes its own columns (`own_columns`)."""

    def __init__(self, buckets: np.ndarray, ngram_range: tuple[int, int], n_buckets: int):
        self.buckets = np.asarray(buckets, dtype=np.int64)
        self.ngram_range = tuple(ngram_range)
        self.n_buckets = n_buckets
        self._column_of = None

    @property
    def n_columns(self) -> int:
        return len(self.buckets)

    def column_of(self) -> np.ndarray:
        """The column of each bucket, -1 for none (built on first use: ~1 ms, not pickled)."""
        if self._column_of is None:
            column_of = np.full(self.n_buckets, -1, dtype=np.int32)
            column_of[self.buckets] = np.arange(len(self.buckets), dtype=np.int32)
            self._column_of = column_of
        return self._column_of

    def counts(self, batch) -> SparseRows:
        batch = as_batch(batch)
        return batch.computed((self, "counts"), lambda: self._counts(batch))

    def _counts(self, batch: TextBatch) -> SparseRows:
        column_of = self.column_of()
        rows, columns = [], []
        for starts, hashed, inside in _ngram_buckets(batch, self.ngram_range, self.n_buckets):
            found = column_of[hashed]
            kept = found >= 0
            if inside is not None:
                kept &= inside
            kept = np.flatnonzero(kept)
            rows.append(starts[kept])
            columns.append(found[kept])
        rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        columns = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64)
        return count_entries(rows, columns, (len(batch), len(self.buckets)))

    def __getstate__(self):
        return {**self.__dict__, "_column_of": None}


# Specificity cues: each is an auditor's anchor from the labelling guide.
# The completed acts of the actor_act cue (also what a text must hold for it to match).
_ACTS = "建立|建成|制定|出台|印发|修订|上线|开发|完成|组建|设立|实现|召开|举办|编印|发布|委托|查处|破获|推行|实行|下放|联合开展|开展"
# The units of the count cue (also, by their first characters, what a text must hold for it to match).
_COUNT_UNITS = ("件|项|次|人次|人|名|家|个|场|期|批|条|份|篇|户|起|宗|卷|所|座|台|套|"
                "支|艘|辆|类|种|部|处|位|轮|本|册|张|栋|吨|亩|公里|学时|课时|小时|天|万|亿")
# The completed cue's markers other than 已 (also what a text must hold for it to match).
_DONE_MARKERS = "荣获|获评|被评为|被授予|入选|累计|先后"
# Work already done without an anchor or a named actor ("已启动…", "荣获…"): a cue the models
# read and the strongest category rule adds to the anchors; not an anchor of the guide's own.
COMPLETED_CUE = "completed"
CUES = {
    "number": re.compile(r"\d"),
    "count": re.compile(rf"\d+(?:\.\d+)?\s*(?:余|多)?\s*(?:{_COUNT_UNITS})"),
    "amount": re.compile(r"\d+(?:\.\d+)?\s*(?:万|亿)?\s*元"),
    "percent": re.compile(r"\d+(?:\.\d+)?\s*[%％]|百分之"),
    "title": re.compile(r"《[^》]{2,80}》"),
    "doc_number": re.compile(r"[〔\[［(（]\s*(?:19|20)\d{2}\s*[〕\]］)）]\s*\d+\s*号"),
    # A date, or a deadline the sentence sets ("2023年底前", "2022年上半年", "10月底前"): the
    # guide's "date or deadline". A year alone is `year` (the reporting year is no anchor), and a
    # deadline without a year of its own ("每年第一季度") is the outline's, not the government's.
    "date": re.compile(r"(?:19|20)\d{2}\s*年\s*(?:\d{1,2}\s*月|年?[底末]|[上下]半年|第?[一二三四1-4]季度)"
                       r"|\d{1,2}\s*月\s*(?:\d{1,2}\s*日|[底末]|[上中下]旬)"),
    "year": re.compile(r"(?:19|20)\d{2}\s*年"),
    "quoted_name": re.compile(r"[“\"][^”\"]{2,20}[”\"]"),
    # A named actor opening a clause (市公安局, 区司法局, 永川区, 川渝两地税务部门) and a completed,
    # checkable act of it in the same clause: the guide's "ordinary body … stating a completed act".
    # Not 我区/本区 or 区情 (no named actor), and no commitment (将, 拟, 要 but not 主要/要求, 进一步,
    # 推动) between actor and act: clarification 9 leaves a named actor's commitment a slogan.
    "actor_act": re.compile(
        r"(?:^|[，,；;。：:])\s*(?:(?:[省市区县州]|重庆市|[^\W\d_]{2,4}[省市])[^\W\d_]{1,9}?(?:局|委|厅|办|院|中心|部门)"
        r"|(?:(?![我本该各])[^\W\d_]){2,4}(?:区(?!情)|县(?!情)|镇|乡|街道)(?![^\W\d_]*(?:各|全))|[^\W\d_]{2,6}两地[^\W\d_]{1,8}?部门)"
        rf"(?:(?!将|拟|进一步|推动|(?<![主重需])要(?!求))[^，,；;。]){{0,30}}?(?:{_ACTS})"),
    # Markers of work already done, whoever the actor: 已(经) before an act (not a state
    # claimed, 已(经)成为/已(经)形成), an honour won (荣获, 被评为 …), a tally of past acts (累计, 先后).
    # The guide's completed acts, as opposed to commitments.
    COMPLETED_CUE: re.compile(rf"已(?!经?(?:成为|形成))经?[^\W\d_]|{_DONE_MARKERS}"),
}
# What every match of each cue contains: for each cue, one or more alternatives (a branch of
# its expression), each a set of things that a match of it holds: a digit and a 元, a 《, an
# act. Each is `_DIGIT` (a character `\d` matches) or a tuple of words (any of them; a word of
# one character is that character), so that numpy finds the texts that hold it in a whole
# batch at once, and a cue's expression runs only on the texts that hold all of some
# alternative.
_DIGIT = ("a decimal digit",)
_UNITS = tuple(dict.fromkeys(unit[0] for unit in _COUNT_UNITS.split("|")))  # the first character of each unit of `count`
_ACTOR_ENDS = tuple("局委厅办院心门区县镇乡道")  # the last character of each actor of `actor_act`
_NEEDS = {
    "number": ((_DIGIT,),),
    "count": ((_DIGIT, _UNITS),),
    "amount": ((_DIGIT, ("元",)),),
    "percent": ((_DIGIT, ("%", "％")), (("百分之",),)),
    "title": ((("《",),),),
    "doc_number": ((_DIGIT, ("号",), tuple("〔[［(（")),),
    "date": ((_DIGIT, ("年",), ("月", "底", "末", "半年", "季度")), (_DIGIT, ("月",), ("日", "底", "末", "旬"))),
    "year": ((_DIGIT, ("年",)),),
    "quoted_name": ((("“", '"'),),),
    "actor_act": ((tuple(_ACTS.split("|")), _ACTOR_ENDS),),
    COMPLETED_CUE: ((("已", *_DONE_MARKERS.split("|")),),),
}
# Titles whose name is generic (the taxonomy's `generic_titles`) are counted apart from "title".
GENERIC_TITLE_CUE = "generic_title"
# Cues that anchor a sentence on their own (the guide's verifiable anchors); "anchored" is 1
# when any of them or a named actor's completed act is present (the guide's clarification 9):
# the anchor-cue rule as one feature.
ANCHOR_CUES = ("count", "amount", "percent", "title", "doc_number", "date")
ANCHORED_BY = (*ANCHOR_CUES, "actor_act")
ANCHORED_CUE = "anchored"
CUE_NAMES = (*CUES, GENERIC_TITLE_CUE, ANCHORED_CUE)
_BRACKETED = re.compile(r"[(（][^)）]*[)）]")


def _is_generic_title(title: str, generic_titles) -> bool:
    """《法治政府建设实施纲要（2021—2025年）》 is the outline however its years are printed."""
    return _BRACKETED.sub("", title[1:-1]).strip() in generic_titles


def _decimal_digits(codes: np.ndarray) -> np.ndarray:
    """Which of these code points (uint32) `\\d` matches (str.isdecimal: the ASCII digits and
    the other Unicode decimal digits, none of which lies in U+3000–U+9FFF, where most of a
    Chinese text is)."""
    digits = (codes - np.uint32(48)) < 10  # wraps below "0"
    others = codes[(codes >= 128) & ((codes < 0x3000) | (codes >= 0xA000))]
    if len(others):
        decimal = [c for c in set(others.tolist()) if chr(c).isdecimal()]  # (np.unique imports numpy.ma: 30 ms)
        if decimal:
            digits |= np.isin(codes, decimal)
    return digits


class _WordNeeds:
    """Where the words of the needs (`_NEEDS`) start in a batch's code points: one look-up of
    each code point in a table of the needs' first characters (a bit per need), then each
    word of more than one character confirmed at the few positions its first one is at."""

    def __init__(self):
        self.needs = sorted({need for alternatives in _NEEDS.values() for alternative in alternatives
                             for need in alternative if need is not _DIGIT})
        if len(self.needs) > 16 or any(ord(word[0]) >= 0xFFFF or "\n" in word for need in self.needs for word in need):
            raise ValueError("the needs' words do not fit the table")
        self.table = np.zeros(0x10000, dtype=np.uint16)
        for bit, need in enumerate(self.needs):
            for word in need:
                self.table[ord(word[0])] |= 1 << bit

    def positions(self, codes: np.ndarray) -> dict[tuple, np.ndarray]:
        """need → the positions in `codes` (uint32) where one of its words starts."""
        bits = self.table[np.minimum(codes, 0xFFFF)]
        at = np.flatnonzero(bits)
        bits = bits[at]
        found = {}
        for bit, need in enumerate(self.needs):
            where = at[(bits & (1 << bit)) != 0]
            if any(len(word) > 1 for word in need):
                first = codes[where]
                hits = []
                for word in need:
                    start = where[first == ord(word[0])]
                    start = start[start + len(word) <= len(codes)]
                    for k in range(1, len(word)):
                        start = start[codes[start + k] == ord(word[k])]
                    hits.append(start)
                where = np.concatenate(hits)  # a position twice does no harm
            found[need] = where
        return found


_word_needs = []  # the one _WordNeeds, built on first use (~1 ms)


def cue_count_arrays(texts: list[str], generic_titles=(), names=CUE_NAMES) -> dict[str, np.ndarray]:
    """The counts of the named cues (all by default) in each normalized text, searched for
    only in the texts that hold what they need; a model that reads only a few cues asks for
    those, and the others are never searched for. `number` (every digit) is counted with
    numpy. `anchored` follows from the counts where every anchor is counted; alone, it
    stops at the first anchor."""
    wanted = set(names)
    needed = {name for name in wanted if name in CUES}
    if GENERIC_TITLE_CUE in wanted:
        needed.add("title")
    anchored_by_counts = ANCHORED_CUE in wanted and needed >= set(ANCHORED_BY)
    needed_for_anchor = set(ANCHORED_BY) if ANCHORED_CUE in wanted and not anchored_by_counts else set()
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    starts = np.cumsum(lengths + 1) - lengths - 1
    joined = "\n".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    if not _word_needs:
        _word_needs.append(_WordNeeds())
    found = _word_needs[0].positions(codes)
    found[_DIGIT] = np.flatnonzero(_decimal_digits(codes))
    holding = {}  # need → whether each text holds it

    def holds(need):
        if need not in holding:
            holding[need] = np.zeros(len(texts), dtype=bool)
            holding[need][np.searchsorted(starts, found[need], side="right") - 1] = True
        return holding[need]

    candidates = {name: np.flatnonzero(np.logical_or.reduce(
        [np.logical_and.reduce([holds(need) for need in alternative]) for alternative in _NEEDS[name]]))
        for name in (needed | needed_for_anchor) - {"number"}}
    counts = {}
    if "number" in needed:  # one match per digit
        counts["number"] = np.bincount(np.searchsorted(starts, found[_DIGIT], side="right") - 1,
                                       minlength=len(texts)).astype(np.int64)
    for name in needed - {"title", "number"}:
        column = np.zeros(len(texts), dtype=np.int64)
        findall = CUES[name].findall
        column[candidates[name]] = [len(findall(texts[i])) for i in candidates[name].tolist()]
        counts[name] = column
    if "title" in needed:
        titles, generic = np.zeros(len(texts), dtype=np.int64), np.zeros(len(texts), dtype=np.int64)
        for i in candidates["title"].tolist():
            matches = CUES["title"].findall(texts[i])
            generic[i] = sum(_is_generic_title(t, generic_titles) for t in matches)
            titles[i] = len(matches) - generic[i]
        counts["title"], counts[GENERIC_TITLE_CUE] = titles, generic
    if anchored_by_counts:  # a non-generic title, or a match of any other anchoring cue
        counts[ANCHORED_CUE] = np.logical_or.reduce([counts[name] > 0 for name in ANCHORED_BY]).astype(np.int64)
    elif ANCHORED_CUE in wanted:
        anchored = np.zeros(len(texts), dtype=bool)
        for name in ANCHORED_BY:  # each text until one anchor is found (any order, the same answer)
            for i in candidates[name][~anchored[candidates[name]]].tolist():
                if name == "title":
                    anchored[i] = any(not _is_generic_title(t, generic_titles) for t in CUES["title"].findall(texts[i]))
                else:
                    anchored[i] = CUES[name].search(texts[i]) is not None
        counts[ANCHORED_CUE] = anchored.astype(np.int64)
    return counts


def cue_counts(text: str, generic_titles=(), names=CUE_NAMES) -> dict[str, int]:
    """The counts of the named cues (all by default) in one normalized text."""
    return {name: int(column[0]) for name, column in cue_count_arrays([text], generic_titles, names).items()}


def cue_matrix(texts, generic_titles=(), names=CUE_NAMES) -> np.ndarray:
    """log(1 + count) of the named specificity cues, one row per text. A fitted model passes
    the names it was trained with, so cues added later never shift its columns."""
    counts = cue_count_arrays(as_batch(texts).normalized, generic_titles, names)
    return np.log1p(np.column_stack([counts[name] for name in names]).astype(np.float64)).reshape(
        len(texts), len(names))


_HASH_BASE = np.uint64(1_000_003)
_CHECK_BASE = np.uint64(2_147_483_659)
# Bits of the table that rules out most positions before the sorted keyword hashes are searched.
_FILTER_BITS = 20


def _polynomial_hash(word: str, base: np.uint64) -> int:
    """The hash `KeywordMatcher` computes with numpy (uint64 arithmetic wraps the same way)."""
    value = 0
    for ch in word:
        value = (value * int(base) + ord(ch)) % (1 << 64)
    return value


def _is_word(token: str) -> bool:
    """A token that counts for rarity: two characters or more, and not a number (numbers are the cues')."""
    return len(token) >= 2 and not token.isdecimal()


class RareVocabulary:
    """How much of a text is words its fitting texts rarely used: per text, the share of its
    words (tokens of two characters or more, numbers aside) that at most `max_count` fitting
    texts hold, and log(1 + their number).

    A concrete measure names particular things (a campaign, a river, an industry, a case, a
    platform's own name) that the stock phrases of slogans (加强, 推进, 体系, 机制) do not. The
    fitted table keeps a flag for every token seen in fitting; a token never seen is rare if
    it is a word. Every text is counted once per token it holds, so a report's own place name,
    repeated in many of its sentences, stops being rare once that report trains.
    """

    _NOT_A_WORD, _COMMON, _RARE = 0, 1, 2

    def __init__(self, texts, max_count: int):
        batch = as_batch(texts)
        tokens, text_of = batch.tokens
        # In how many texts each token occurs: each (token, text) pair counted once.
        seen = Counter(token for token, _ in set(zip(tokens, text_of.tolist())))
        self.max_count = max_count
        self.flags = {token: (self._NOT_A_WORD if not _is_word(token) else
                              self._COMMON if count > max_count else self._RARE)
                      for token, count in seen.items()}
        self.counter, self.flag_of_number = None, None

    def _flag(self, token: str) -> int:
        """A token's flag: from fitting, else (never seen) rare if it is a word."""
        flag = self.flags.get(token)
        return flag if flag is not None else (self._RARE if _is_word(token) else self._NOT_A_WORD)

    def link(self, counter: VocabularyCounter) -> None:
        """Read tokens through a word counter's numbering, which the word block looks up for
        every batch anyway (`cut_numbers`): one dictionary look-up per token instead of two.
        Each number's flag is its token's own, so the features are the same."""
        self.counter = counter
        flag_of_number = np.empty(len(counter.token_id), dtype=np.int64)
        for token, number in counter.token_id.items():
            flag_of_number[number] = self._flag(token)
        self.flag_of_number = flag_of_number

    def matrix(self, texts) -> np.ndarray:
        """Per text: [share of its words that are rare, log(1 + number of rare words)]."""
        batch = as_batch(texts)
        tokens, text_of = batch.tokens
        if getattr(self, "counter", None) is not None:
            numbers = self.counter.cut_numbers(batch)
            flags = np.where(numbers >= 0, self.flag_of_number[np.maximum(numbers, 0)], -1)
        else:
            flags = np.fromiter(map(self.flags.get, tokens, repeat(-1)), dtype=np.int64, count=len(tokens))
        unseen = np.flatnonzero(flags < 0)
        if len(unseen):
            flags[unseen] = [self._flag(tokens[i]) for i in unseen.tolist()]
        words = np.bincount(text_of[flags != self._NOT_A_WORD], minlength=len(batch))
        rare = np.bincount(text_of[flags == self._RARE], minlength=len(batch))
        return np.column_stack([rare / np.maximum(words, 1), np.log1p(rare)]).reshape(len(batch), 2)


class KeywordMatcher:
    """Per area, log(1 + characters of that area's keywords found in a text).

    A keyword counts once per text, found where it is the longest keyword starting at some
    position (as a regular expression of the keywords, longest first, tried at every position
    would find it). All texts are searched at once with numpy: for each keyword length, the
    hash of every substring of that length is looked up among the keywords' hashes (a table of
    their low bits rules out most positions first), and each hit is confirmed on the text
    itself. The tables are built on first use and never pickled.
    """

    def __init__(self, keywords: dict[str, list[str]]):
        self.keywords = keywords
        self._compiled = None

    def _matcher(self):
        if self._compiled is None:
            words = sorted({k for ws in self.keywords.values() for k in ws if k}, key=len, reverse=True)
            # weights[k, j]: the characters keyword k adds to area j's column when found.
            weights = np.array([[len(k) if k in ws else 0 for ws in self.keywords.values()] for k in words],
                               dtype=np.float64).reshape(len(words), len(self.keywords))
            by_length = {}
            for index, word in enumerate(words):
                by_length.setdefault(len(word), []).append(
                    (_polynomial_hash(word, _HASH_BASE), _polynomial_hash(word, _CHECK_BASE), index))
            tables = []
            mask = np.uint64((1 << _FILTER_BITS) - 1)
            for length in sorted(by_length, reverse=True):
                first, second, indices = zip(*sorted(by_length[length]))
                first = np.array(first, dtype=np.uint64)
                possible = np.zeros(1 << _FILTER_BITS, dtype=bool)
                possible[(first & mask).astype(np.int64)] = True
                tables.append((length, first, np.array(second, dtype=np.uint64), np.array(indices), possible))
            self._compiled = (weights, tables)
        return self._compiled

    def matrix(self, texts) -> np.ndarray:
        weights, tables = self._matcher()
        texts = as_batch(texts).normalized
        codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        doc_of = np.repeat(np.arange(len(texts)), np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
        taken = np.zeros(len(codes), dtype=bool)  # a longer keyword already starts here
        # The hash of the substring of each length at each position, built up one length at a
        # time: hashes[n][i] covers codes[i:i + n].
        longest = min(tables[0][0], len(codes)) if tables else 0
        hashes = {}
        h = np.zeros(len(codes), dtype=np.uint64)
        for n in range(1, longest + 1):
            h = h[:len(codes) - n + 1] * _HASH_BASE + codes[n - 1:]
            hashes[n] = h
        mask = np.uint64((1 << _FILTER_BITS) - 1)
        docs, words = [], []
        for length, first, second, indices, possible in tables:
            if length > longest:
                continue
            h1 = hashes[length]
            candidates = np.flatnonzero(possible[(h1 & mask).astype(np.int64)])
            at = np.minimum(np.searchsorted(first, h1[candidates]), len(first) - 1)
            keep = ((first[at] == h1[candidates]) & (doc_of[candidates] == doc_of[candidates + length - 1])
                    & ~taken[candidates])
            candidates, at = candidates[keep], at[keep]
            # A second, independent hash confirms each candidate (two 64-bit hashes colliding
            # by chance is not a concern), computed only where the first one matched.
            h2 = np.zeros(len(candidates), dtype=np.uint64)
            for k in range(length):
                h2 = h2 * _CHECK_BASE + codes[candidates + k]
            confirmed = second[at] == h2
            hit = candidates[confirmed]
            taken[hit] = True
            docs.append(doc_of[hit])
            words.append(indices[at[confirmed]])
        docs = np.concatenate(docs) if docs else np.zeros(0, dtype=np.int64)
        words = np.concatenate(words) if words else np.zeros(0, dtype=np.int64)
        # A keyword counts once per text, however often it occurs.
        found = count_entries(docs, words, (len(texts), len(weights)))
        counts = np.zeros((len(texts), weights.shape[1]))
        np.add.at(counts, found.rows, weights[found.cols])
        return np.log1p(counts)

    def __getstate__(self):
        return {"keywords": self.keywords, "_compiled": None}
