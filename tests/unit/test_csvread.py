"""The CSV reader (app/engine/csvread.py) and the label and classes (app/engine/tabular.py): every bad file of
tests/cases/csv gets its own sentence, the good files read as pandas reads them, random bytes and random
CSV-shaped text never get anything but a table or one sentence, and the limits stop the reading early."""

from __future__ import annotations

import io
import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine.config import MAX_CSV_ROWS
from app.engine.csvread import MISSING, CsvError, decode, fingerprint, read_table
from app.engine.tabular import choose
from tests.support.csvcases import BadCase, GoodCase, bad_cases, good_cases


def read(data: bytes, label: str | None = None, classes: list[str] | None = None) -> object:
    return choose(read_table(decode(data)), "test.csv", label, classes)


# ---- bad files ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", bad_cases(), ids=lambda c: c.id)
def test_each_bad_file_gets_its_own_sentence(case: BadCase) -> None:
    with pytest.raises(CsvError) as err:
        read(case.data(), case.label, case.classes)
    assert str(err.value) == case.message


def test_the_manifest_has_a_sentence_for_every_kind_of_bad_file() -> None:
    cases = bad_cases()
    assert len(cases) >= 25
    assert len({c.message for c in cases}) >= 25  # different troubles, different words
    for c in cases:
        assert "\n" not in c.message and c.message[0].islower() and not c.message.endswith(".")


def test_reading_stops_at_the_row_limit_before_the_rest_of_the_file() -> None:
    """Row 20,001 ends the reading: a broken line after it is never reached (memory bounded by the limit)."""
    rows = "".join(f"{i % 7}.5,{i % 3},{'abc'[i % 3]}\n" for i in range(MAX_CSV_ROWS + 1))
    with pytest.raises(CsvError, match="more than 20,000 rows"):
        read_table("x,y,label\n" + rows + "1,2,3,4,5\n")
    assert read_table("x,y,label\n" + rows[: rows.index("\n", 0) + 1] * MAX_CSV_ROWS).rows == MAX_CSV_ROWS


def test_a_long_row_is_refused_as_soon_as_it_passes_the_limit() -> None:
    with pytest.raises(CsvError, match="line 3 is 70,000 characters long"):
        read_table("a,b,label\n1,2,x\n" + "9" * 70_000 + "\n1,2,y\n")


# ---- good files: as pandas reads them -----------------------------------------------------------------
@pytest.mark.parametrize("case", good_cases(), ids=lambda c: c.path.name)
def test_good_files_read_as_pandas_reads_them(case: GoodCase) -> None:
    raw = case.path.read_bytes()
    table = read_table(decode(raw))
    assert table.delimiter == case.delimiter
    ref = pd.read_csv(io.BytesIO(raw), sep=case.delimiter, encoding=case.encoding, dtype_backend="numpy_nullable")
    assert table.names == tuple(str(c).strip() for c in ref.columns)
    assert table.rows == len(ref)
    numeric = {j for j, c in enumerate(ref.columns) if pd.api.types.is_numeric_dtype(ref[c])
               and not pd.api.types.is_bool_dtype(ref[c]) and ref[c].notna().any()}
    assert set(table.numbers) == numeric
    for j, column in enumerate(ref.columns):
        values = ref[column]
        if j in table.numbers:
            want = values.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
            np.testing.assert_array_equal(table.numbers[j], want)
        else:
            codes, levels = table.texts[j]
            got = [None if k < 0 else levels[k] for k in codes]
            assert got == [None if pd.isna(v) else str(v).strip() for v in values]


@pytest.mark.parametrize("case", good_cases(), ids=lambda c: c.path.name)
def test_default_label_and_the_three_most_frequent_classes(case: GoodCase) -> None:
    raw = case.path.read_bytes()
    data = choose(read_table(decode(raw)), case.path.name)
    assert data.label == case.label
    ref = pd.read_csv(io.BytesIO(raw), sep=case.delimiter, encoding=case.encoding)
    ref.columns = [str(c).strip() for c in ref.columns]
    features = [c for c in ref.columns if c != case.label and pd.api.types.is_numeric_dtype(ref[c])]
    assert list(data.features) == features
    complete = ref[features].replace([np.inf, -np.inf], np.nan).notna().all(axis=1) & ref[case.label].notna()
    named = ref[case.label].dropna().map(lambda v: str(v).strip() if isinstance(v, str) else format(v, "g"))
    labels = named[complete[named.index]]
    first = {name: i for i, name in reversed(list(enumerate(named)))}  # ties: the class met first in the file
    top = sorted(labels.value_counts().items(), key=lambda kv: (-kv[1], first[kv[0]]))[:3]
    assert [(c["name"], c["rows"]) for c in data.summary["classes"]] == top
    assert len(data.y) == sum(n for _, n in top) == data.summary["used"]
    dropped = data.summary["dropped"]
    assert dropped["missing"] + dropped["not_finite"] == int((~complete).sum())


def test_penguins_summary_names_what_is_used_and_what_is_not() -> None:
    case = next(c for c in good_cases() if c.path.name == "penguins.csv")
    summary = choose(read_table(decode(case.path.read_bytes())), "penguins.csv").summary
    assert summary["label"] == "species" and summary["ignored"] == ["island", "sex"]
    assert summary["features"] == ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
    assert summary["rows"] == 344 and summary["dropped"] == {"missing": 2, "not_finite": 0}
    assert "island" in summary["label_choices"] and "sex" not in summary["label_choices"]  # two classes only
    island = choose(read_table(decode(case.path.read_bytes())), "penguins.csv", label="island")
    assert "species" in island.summary["ignored"] and [c["name"] for c in island.summary["classes"]] == [
        "Biscoe", "Dream", "Torgersen"]


def test_formula_cells_are_read_as_text_and_never_evaluated() -> None:
    case = next(c for c in good_cases() if c.path.name == "formula_cells.csv")
    data = choose(read_table(decode(case.path.read_bytes())), "formulas")
    assert {c["name"] for c in data.summary["classes"]} == {"=1+1", "@attack", "+plus"}
    notes = data.table.texts[2][1]
    assert "=cmd|' /C calc'!A0" in notes and '=HYPERLINK("http://x","click")' in notes


def test_an_inspected_row_is_the_files_row() -> None:
    case = next(c for c in good_cases() if c.path.name == "quoted.csv")
    text = decode(case.path.read_bytes())
    data = choose(read_table(text), "quoted.csv")
    ref = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    for i in (0, 5, len(data.y) - 1):
        row = data.row(i)
        r = int(data.rows[i])
        assert row["cells"] == [[c, ref.iloc[r][c]] for c in ref.columns]
        assert text.splitlines()[row["line"] - 1].startswith(ref.iloc[r]["length"])


# ---- decoding ---------------------------------------------------------------------------------------
def test_decode_reads_utf8_with_or_without_bom_else_latin1() -> None:
    assert decode("é,x\n".encode()) == decode(b"\xef\xbb\xbf" + "é,x\n".encode()) == "é,x\n"
    assert decode("é,x\n".encode("latin-1")) == "é,x\n"
    assert fingerprint("é") == fingerprint(decode(b"\xef\xbb\xbf\xc3\xa9")) and len(fingerprint("")) == 16


# ---- random input ------------------------------------------------------------------------------------
def _one_sentence(message: str) -> None:
    assert message and "\n" not in message and len(message) < 400 and "Traceback" not in message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3_000))
def test_random_bytes_get_a_table_or_one_sentence(raw: bytes) -> None:
    try:
        read(raw)
    except CsvError as err:
        _one_sentence(str(err))


cells = st.one_of(
    st.sampled_from(MISSING[:8] + ("inf", "-inf", "1e3", ".5", "=A1", "@x", '"', '""', "a,b", "x\ny", " ")),
    st.floats(allow_nan=False).map(repr), st.integers(-5, 5).map(str),
    st.text(alphabet=string.ascii_letters + ',;\t"\n\r é', max_size=6))


@st.composite
def csv_text(draw: st.DrawFn) -> str:
    sep = draw(st.sampled_from([",", ";", "\t"]))
    width = draw(st.integers(1, 5))
    rows = draw(st.lists(st.lists(cells, min_size=width - 1, max_size=width + 1), max_size=60))

    def cell(c: str) -> str:
        return '"' + c.replace('"', '""') + '"' if draw(st.booleans()) and c else c

    header = sep.join(draw(st.lists(st.sampled_from(["a", "b", "label", "y", "", "a"]), min_size=width,
                                    max_size=width)))
    return header + "\n" + "".join(sep.join(cell(c) for c in r) + draw(st.sampled_from(["\n", "\r\n"])) for r in rows)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_text(), st.one_of(st.none(), st.sampled_from(["a", "label", "b", "zz"])))
def test_random_csv_shaped_text_gets_a_dataset_or_one_sentence(text: str, label: str | None) -> None:
    try:
        data = choose(read_table(text), "random.csv", label)
    except CsvError as err:
        _one_sentence(str(err))
        return
    assert data.x.shape == (data.y.size, len(data.features)) and np.isfinite(data.x).all()
    assert sorted(set(data.y.tolist())) == [0, 1, 2] and min(np.bincount(data.y)) >= 10
