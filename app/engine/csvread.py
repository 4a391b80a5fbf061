"""Reading a user's CSV file: bytes → text → a table of typed columns, every limit checked while reading.

An untrusted file (DESIGN.md, "Your own data"): nothing in it is executed or evaluated (cells are strings or
numbers, nothing else); the reader stops as soon as a limit (engine/config.py) is passed, so memory is bounded
by the limits, not by the file; and a bad file gets one sentence in a user's words (CsvError). The page decodes
a file's bytes as `decode` does (static/js/lib/csvpick.js) and the server reads the text with `read_table`, so
the page and the command line say the same things about the same file.

What is read: UTF-8 (with or without BOM) or Latin-1; comma, semicolon or tab, sniffed; quoted fields with
delimiters and line breaks; a header row. A column is numeric when each of its cells is a number (digits, a
decimal point, an exponent, inf) or missing (empty, NA, NaN, null, … as pandas reads them), and at least one
is a number; every other column is text (its cells stripped of surrounding spaces).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .config import MAX_CSV_BYTES, MAX_CSV_COLUMNS, MAX_CSV_FEATURES, MAX_CSV_LINE, MAX_CSV_ROWS

DELIMITERS = (",", ";", "\t")
# pandas' default missing-value words (read_csv na_values), matched exactly
MISSING = ("", "NA", "N/A", "n/a", "<NA>", "#N/A", "#N/A N/A", "#NA", "NULL", "null", "None", "NaN", "-NaN", "nan",
           "-nan", "1.#IND", "-1.#IND", "1.#QNAN", "-1.#QNAN")
_MISSING = frozenset(MISSING)
_MISS = "|".join(re.escape(m) for m in sorted(MISSING, key=len, reverse=True) if m)
_EXP = r"(?:[eE][+-]?[0-9]+)?"
_NUM = rf"\s*[+-]?(?:[0-9]+\.?[0-9]*{_EXP}|\.[0-9]+{_EXP}|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)\s*"
_COMMA = r"\s*[+-]?[0-9]+(?:,[0-9]+)?\s*"  # 1,5: a decimal comma (or a whole number)


def _all(cell: str) -> re.Pattern[str]:
    """A pattern for a whole block of cells joined by NUL (never in the text): every cell `cell` or missing."""
    one = f"(?:{cell}|{_MISS})?"
    return re.compile(f"{one}(?:\x00{one})*")


NUMBERS = _all(_NUM)
COMMA_NUMBERS = _all(_COMMA)
FORMULAS = _all(r"\s*=[^\x00]*")
BLOCK = 2_000  # rows typed or converted at a time, column by column
SHOWN = 40  # characters of a cell or a name quoted in a message


class CsvError(ValueError):
    """A file the explorer cannot use; str() is one sentence in a user's words."""


def shown(text: str) -> str:
    """A cell or name as a message quotes it: control characters escaped, cut short."""
    clean = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: SHOWN + 1])
    return clean if len(clean) <= SHOWN else clean[: SHOWN - 1] + "…"


def megabytes(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def too_large(chars: int) -> str:
    return f"the file is {megabytes(chars)}; the explorer reads files of at most {MAX_CSV_BYTES // 2**20} MB"


def decode(raw: bytes) -> str:
    """A file's bytes as text: UTF-8 (a leading BOM dropped), else Latin-1, as the page decodes a File."""
    if len(raw) > MAX_CSV_BYTES:
        raise CsvError(too_large(len(raw)))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def fingerprint(text: str) -> str:
    """The first 16 hex digits of SHA-256 of the text's UTF-8: a link names the file by it (data=csv:…)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True)
class Table:
    """A CSV file as read: typed columns by position, and where each data row lies in the text."""

    text: str
    delimiter: str
    names: tuple[str, ...]
    numbers: dict[int, np.ndarray]  # numeric column → (R,) float64, NaN where missing (±inf kept)
    texts: dict[int, tuple[np.ndarray, tuple[str, ...]]]  # text column → codes (R,) int32 (-1: missing), levels
    spans: np.ndarray  # (R, 2) int64: each data row's [start, end) in `text`
    lines: np.ndarray  # (R,) int64: the line each data row starts on (1-based)
    sha256: str

    @property
    def rows(self) -> int:
        return int(self.lines.size)

    def row(self, r: int) -> list[str]:
        """Data row r's cells as written in the file (read again from the text)."""
        start, end = (int(v) for v in self.spans[r])
        return next(csv.reader(io.StringIO(self.text[start:end], newline=""), delimiter=self.delimiter), [])


def read_table(text: str) -> Table:
    """Read CSV text (as `decode` gives it) into a Table, or raise CsvError saying what is wrong with it."""
    if len(text) > MAX_CSV_BYTES:
        raise CsvError(too_large(len(text)))
    text = text.removeprefix("\ufeff")
    _refuse_non_text(text)
    if not text.strip():
        raise CsvError("the file is empty")
    delimiter = sniff(text)
    typing = _Typing()
    header: list[str] | None = None
    last: list[int] = [0, 0, 1]  # the latest record's span and first line, blank lines included
    for record, span in _records(text, delimiter, last):
        if header is None:
            header = _header(record)
            typing.start(len(header))
            continue
        if len(record) != len(header):
            raise CsvError(f"line {span[2]:,} has {len(record)} values but the header has {len(header)} columns: "
                           "every row needs one value per column")
        if typing.rows >= MAX_CSV_ROWS:
            raise CsvError(f"the file has more than {MAX_CSV_ROWS:,} rows; the explorer reads at most "
                           f"{MAX_CSV_ROWS:,}: keep a sample of them")
        typing.add(record, span)
    if header is None:
        raise CsvError("the file is empty")
    _check_closed(text, delimiter, (last[0], last[1], last[2]))
    if typing.rows == 0:
        raise CsvError("the file has a header row but no data rows")
    kinds = typing.finish(header)
    numbers, texts = _extract(text, delimiter, kinds, typing.rows)
    spans = np.array(typing.spans, dtype=np.int64).reshape(-1, 2)
    return Table(text=text, delimiter=delimiter, names=tuple(header), numbers=numbers, texts=texts, spans=spans,
                 lines=np.array(typing.lines, dtype=np.int64), sha256=fingerprint(text))


def _refuse_non_text(text: str) -> None:
    """Files that are not CSV text at all: compressed, an archive, UTF-16, a web page, binary data."""
    head = text[:4096]
    if head.startswith("\x1f\x8b"):
        raise CsvError("this is a gzip-compressed file: unpack it first, then choose the CSV file inside")
    if head.startswith("PK\x03\x04"):
        raise CsvError("this is a ZIP archive (an Excel workbook is one): save the sheet as CSV and choose that file")
    nul = head.count("\x00")
    if head.startswith(("ÿþ", "þÿ")) or (nul > len(head) // 4 and max(head[0::2].count("\x00"),
                                                                       head[1::2].count("\x00")) > 0.8 * nul):
        raise CsvError("this file is UTF-16 text: save it as CSV UTF-8 (or plain CSV) and choose it again")
    if head.startswith("ï»¿"):
        raise CsvError("the file starts with the UTF-8 mark (BOM) but is not UTF-8 text: save it again as CSV UTF-8")
    sample = text[:65_536]
    controls = len(re.findall(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", sample))
    if "\x00" in text or controls > max(8, len(sample) // 100):
        raise CsvError("this is not a text file: choose a CSV file (plain text, one row per line)")
    if re.match(r"\s*<(!doctype html|html)", head, re.IGNORECASE):
        raise CsvError("this is a web page (HTML), not a CSV file: save the table as CSV and choose that file")


def sniff(text: str) -> str:
    """The delimiter (comma, semicolon or tab) that splits the first lines into the same number of columns,
    the most columns where several do; a comma when none does."""
    sample: list[str] = []
    offset = 0
    for number, line in enumerate(io.StringIO(text[: 4 * MAX_CSV_LINE], newline=""), start=1):
        if len(line) > MAX_CSV_LINE:
            end = re.compile(r"[\r\n]").search(text, offset)
            raise CsvError(_long_line(number, (end.start() if end else len(text)) - offset))
        sample.append(line)
        offset += len(line)
        if number == 50:
            break
    if len(sample) > 1 and len(text) > sum(map(len, sample)):
        sample.pop()  # maybe cut short
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = [len(r) for r in csv.reader(sample, delimiter=delimiter) if r]
        if not counts or counts[0] < 2:
            continue
        score = (sum(c == counts[0] for c in counts) / len(counts), counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _long_line(number: int, length: int) -> str:
    return (f"line {number:,} is {length:,} characters long; a row may have at most {MAX_CSV_LINE:,}: "
            "is this a CSV file with one row per line?")


class _Lines:
    """The text's lines for csv.reader, holding each row (a quoted field's line breaks included) to MAX_CSV_LINE
    characters while reading, and counting where each row starts."""

    def __init__(self, text: str) -> None:
        self.source = io.StringIO(text, newline="")
        self.offset = self.line = self.row_start = 0
        self.row_line = 1

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self.source.readline(MAX_CSV_LINE + 1)
        if not line:
            raise StopIteration
        self.offset += len(line)
        self.line += 1
        if self.offset - self.row_start > MAX_CSV_LINE:
            if self.line == self.row_line:
                rest = self.source.readline()
                raise CsvError(_long_line(self.line, len(line) + len(rest)))
            raise CsvError(f"the row that starts on line {self.row_line:,} runs past {MAX_CSV_LINE:,} characters: "
                           'a quoted field (") is probably never closed')
        return line

    def next_row(self) -> None:
        self.row_start, self.row_line = self.offset, self.line + 1


def _records(text: str, delimiter: str, last: list[int]) -> Iterator[tuple[list[str], tuple[int, int, int]]]:
    """The text's records but blank lines, each with its span [start, end) and first line; `last` is kept at
    the latest record's (a blank line's too)."""
    lines = _Lines(text)
    columns: int | None = None
    for record in csv.reader(lines, delimiter=delimiter):
        span = (lines.row_start, lines.offset, lines.row_line)
        last[:] = span
        lines.next_row()
        if not record or (len(record) == 1 and not record[0].strip() and (columns is None or columns > 1)):
            continue
        columns = columns or len(record)
        yield record, span


def _header(record: list[str]) -> list[str]:
    if len(record) > MAX_CSV_COLUMNS:
        raise CsvError(f"the header has {len(record):,} columns; the explorer reads at most {MAX_CSV_COLUMNS}")
    names = [cell.strip() or f"column {i + 1}" for i, cell in enumerate(record)]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise CsvError(f'two columns are named "{shown(name)}" (columns {seen[name] + 1} and {i + 1}): '
                           "give every column its own name")
        seen[name] = i
    return names


def _check_closed(text: str, delimiter: str, last: tuple[int, int, int]) -> None:
    """The last row read (to the end of the file) has no quoted field left open."""
    start, end, line = last
    chunk = text[start:end]
    if '"' not in chunk:
        return
    try:
        for _ in csv.reader(io.StringIO(chunk, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            raise CsvError(f'the quoted field on line {line:,} is never closed: a closing " is missing') from None


class _Typing:
    """Pass one: which columns are numeric, with the rows' spans, typed a block of rows at a time."""

    def __init__(self) -> None:
        self.rows = 0
        self.block: list[list[str]] = []
        self.spans: list[int] = []
        self.lines: list[int] = []

    def start(self, columns: int) -> None:
        self.numeric = [True] * columns
        self.has_number = [False] * columns
        self.comma = [True] * columns  # every cell a whole number or one with a decimal comma
        self.comma_seen = [False] * columns
        self.formula = [True] * columns
        self.example: list[str | None] = [None] * columns  # a cell that is not a number

    def add(self, record: list[str], span: tuple[int, int, int]) -> None:
        self.rows += 1
        self.block.append(record)
        self.spans += span[:2]
        self.lines.append(span[2])
        if len(self.block) == BLOCK:
            self._type()

    def _type(self) -> None:
        for j, cells in enumerate(zip(*self.block, strict=True)):
            joined = "\x00".join(cells)
            if self.numeric[j] and not NUMBERS.fullmatch(joined):
                self.numeric[j] = False
                self.example[j] = next(c for c in cells if c not in _MISSING and not NUMBERS.fullmatch(c))
            if not self.has_number[j] and self.numeric[j]:
                self.has_number[j] = any(c not in _MISSING for c in cells)
            if self.comma[j]:
                self.comma[j] = bool(COMMA_NUMBERS.fullmatch(joined))
                self.comma_seen[j] = self.comma_seen[j] or bool(re.search(r"[0-9],[0-9]", joined))
            if self.formula[j]:
                self.formula[j] = bool(FORMULAS.fullmatch(joined))
        self.block = []

    def finish(self, names: list[str]) -> list[str]:
        """Each column's kind: "number", "text" or "empty"; refuses decimal commas, formulas, too many numbers."""
        self._type()
        kinds = []
        for j, name in enumerate(names):
            if self.numeric[j]:
                kinds.append("number" if self.has_number[j] else "empty")
                continue
            example = shown((self.example[j] or "").strip())
            if self.comma[j] and self.comma_seen[j]:
                raise CsvError(f'column "{shown(name)}" has numbers written with commas ({example}): save the file '
                               "with decimal points and no thousands separators")
            if self.formula[j]:
                raise CsvError(f'column "{shown(name)}" holds spreadsheet formulas ({example}), not values: save '
                               "the values instead (paste as values), then try again")
            kinds.append("text")
        numeric = kinds.count("number")
        if numeric > MAX_CSV_FEATURES + 1:  # one of them may be the label
            raise CsvError(f"the file has {numeric} numeric columns; at most {MAX_CSV_FEATURES} can be features: "
                           "keep the columns you need")
        return kinds


def _extract(text: str, delimiter: str, kinds: list[str], rows: int
             ) -> tuple[dict[int, np.ndarray], dict[int, tuple[np.ndarray, tuple[str, ...]]]]:
    """Pass two: the numeric columns as float64 (NaN where missing), the text columns as codes and levels."""
    numbers = {j: np.empty(rows, dtype=np.float64) for j, kind in enumerate(kinds) if kind == "number"}
    codes = {j: np.empty(rows, dtype=np.int32) for j, kind in enumerate(kinds) if kind == "text"}
    levels: dict[int, dict[str, int]] = {j: {} for j in codes}
    records = (record for record, _ in _records(text, delimiter, [0, 0, 1]))
    next(records)  # the header
    done = 0
    while done < rows:
        block = [r for _, r in zip(range(BLOCK), records, strict=False)]
        columns = list(zip(*block, strict=True))
        for j, out in numbers.items():
            out[done : done + len(block)] = [np.nan if c in _MISSING else float(c) for c in columns[j]]
        for j, code in codes.items():
            seen = levels[j]
            code[done : done + len(block)] = [
                -1 if c.strip() in _MISSING else seen.setdefault(c.strip(), len(seen)) for c in columns[j]]
        done += len(block)
    return numbers, {j: (codes[j], tuple(levels[j])) for j in codes}
