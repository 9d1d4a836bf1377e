"""The year's tables: every commune's rows, sorted by commune, read back one commune at a time."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq

from pipeline.reading import store


def test_a_commune_reads_exactly_its_rows_across_row_groups(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(store, "ROW_GROUP_ROWS", 7)  # a commune's rows span row groups
    codes = ["10627", "00298", "10627", "10606", "00298", "10606"] * 5
    new = pd.DataFrame({"commune_code": codes, "_row": range(len(codes))})
    path = tmp_path / "activities.parquet"
    written = store._replace_rows(path, new, set(codes))
    store.write_parquet(written, path)
    assert pq.ParquetFile(path).metadata.num_row_groups == 5
    assert list(pd.read_parquet(path)["commune_code"]) == sorted(codes)
    for code in set(codes):
        mine = pd.read_parquet(path, filters=[("commune_code", "==", code)])
        expected = new[new["commune_code"] == code].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, expected)  # every row once, in the order written

    replaced = store._replace_rows(path, new[new["commune_code"] == "00298"].iloc[:2], {"00298"})
    assert list(replaced["commune_code"]).count("00298") == 2
    assert list(replaced["commune_code"]) == sorted(replaced["commune_code"])


def test_a_table_with_no_row_is_read_by_commune_like_any_other(tmp_path) -> None:
    """Every workbook of a group blocked (no signer, say): its tables have no row. Parquet would
    type their commune column as null, and the comparison's filtered read failed on it."""
    path = tmp_path / "villages.parquet"
    empty = pd.DataFrame({"commune_code": [], "village": []}, dtype=object)
    store.write_parquet(empty, path)
    read = pd.read_parquet(path, filters=[("commune_code", "in", ["03427", "03430"])])
    assert read.empty and list(read.columns) == ["commune_code", "village"]
