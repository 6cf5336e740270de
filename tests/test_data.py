import json

import pandas as pd
import pytest

from prompt_recovery.data import INPUT_COLUMNS, LABELLED_COLUMNS, read_rows, write_submission
from prompt_recovery.errors import DataError


def write_csv(path, rows, columns=("id", "original_text", "rewritten_text")):
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


def test_reads_csv_jsonl_parquet_alike(tmp_path):
    rows = [("a", "hello", "HELLO"), ("b", "NA", "null")]  # 'NA' and 'null' are text, not gaps
    csv = write_csv(tmp_path / "x.csv", rows)
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text("\n".join(json.dumps(dict(zip(INPUT_COLUMNS, r, strict=True))) for r in rows))
    parquet = tmp_path / "x.parquet"
    pd.DataFrame(rows, columns=list(INPUT_COLUMNS)).to_parquet(parquet)
    frames = [read_rows(p) for p in (csv, jsonl, parquet)]
    for df in frames:
        assert list(df["original_text"]) == ["hello", "NA"]
        assert list(df["rewritten_text"]) == ["HELLO", "null"]


def test_missing_column_lists_found_columns(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("a", "t")], columns=("id", "original_text"))
    with pytest.raises(DataError) as err:
        read_rows(path)
    msg = str(err.value)
    assert "x.csv" in msg and "['rewritten_text']" in msg and "found ['id', 'original_text']" in msg


def test_empty_text_names_row_id_and_column(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("a", "t", "u"), ("b", "t", "   ")])
    with pytest.raises(DataError, match=r"row 2 \(id 'b'\), column 'rewritten_text': empty text"):
        read_rows(path)


def test_nan_in_parquet_is_missing_value(tmp_path):
    path = tmp_path / "x.parquet"
    pd.DataFrame({"id": ["a"], "original_text": [None], "rewritten_text": ["u"]}).to_parquet(path)
    with pytest.raises(DataError, match=r"row 1 .*'original_text': missing value"):
        read_rows(path)


def test_duplicate_ids(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("a", "t", "u"), ("b", "t", "u"), ("a", "v", "w")])
    with pytest.raises(DataError, match=r"rows \[1, 3\].*duplicate id 'a'"):
        read_rows(path)


def test_undecodable_bytes_name_the_line(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"id,original_text,rewritten_text\na,ok,ok\nb,caf\xe9,ok\n")
    with pytest.raises(DataError, match=r"line 3: bytes that are not UTF-8.*iconv"):
        read_rows(path)


def test_text_over_limit(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("a", "t" * 101, "u")])
    with pytest.raises(DataError, match=r"101 characters is over the limit of 100"):
        read_rows(path, max_chars=100)


def test_id_optional_for_labelled_data(tmp_path):
    path = write_csv(tmp_path / "x.csv", [("t", "u", "p")], columns=LABELLED_COLUMNS)
    assert list(read_rows(path, require=LABELLED_COLUMNS)["id"]) == ["0"]


def test_unknown_extension_and_missing_file(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DataError, match="unknown file type"):
        read_rows(tmp_path / "x.txt")
    with pytest.raises(DataError, match="no such file"):
        read_rows(tmp_path / "nope.csv")


def test_submission_refuses_blank_and_keeps_old_file(tmp_path):
    out = tmp_path / "sub.csv"
    write_submission(out, ["a", "b"], ["Make it formal", "Rewrite as a poem"])
    before = out.read_text()
    with pytest.raises(DataError, match=r"2 blank prediction\(s\).*\(2, 'b'\)"):
        write_submission(out, ["a", "b", "c"], ["ok", "  ", None])
    assert out.read_text() == before  # the failed write touched nothing
    assert list(tmp_path.iterdir()) == [out]  # and left no temp file
    assert pd.read_csv(out).columns.tolist() == ["id", "rewrite_prompt"]


LABELLED = ("id", "original_text", "rewritten_text", "rewrite_prompt")


def test_labelled_files_merge_and_keep_one_split(tmp_path):
    from prompt_recovery.data import read_labelled_files

    a = write_csv(tmp_path / "a.csv", [("a1", "o", "r", "p"), ("a2", "o", "r", "q")], LABELLED)
    b = write_csv(tmp_path / "b.csv", [("b1", "o", "r", "p")], LABELLED)
    sa = write_csv(tmp_path / "sa.csv", [("a1", "train"), ("a2", "validation")], ("id", "split"))
    sb = write_csv(tmp_path / "sb.csv", [("b1", "train")], ("id", "split"))
    assert list(read_labelled_files([a, b])["id"]) == ["a1", "a2", "b1"]
    assert list(read_labelled_files([a, b], [sa, sb])["id"]) == ["a1", "b1"]
    assert list(read_labelled_files([a, b], [sa, sb], "validation")["id"]) == ["a2"]
    assert list(read_labelled_files([a, b], [sa])["id"]) == ["a1", "b1"]  # b.csv is not covered: used whole
    half = write_csv(tmp_path / "half.csv", [("a1", "train")], ("id", "split"))
    with pytest.raises(DataError, match=r"a\.csv: 1 row\(s\) have no split, e.g. ids \['a2'\]"):
        read_labelled_files([a, b], [half])
    with pytest.raises(DataError, match=r"no row is in split 'test'; the split files name \['train', 'validation'\]"):
        read_labelled_files([a], [sa], "test")
    with pytest.raises(DataError, match=r"sb\.csv list\(s\) none of the ids in .*a\.csv"):
        read_labelled_files([a], [sb])
    dup = write_csv(tmp_path / "dup.csv", [("x", "o", "r", "p"), ("a2", "o", "r", "p")], LABELLED)
    with pytest.raises(DataError, match=r"dup\.csv, row 2, column 'id': id 'a2' is also in .*a\.csv"):
        read_labelled_files([a, dup])
