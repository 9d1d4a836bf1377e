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


def test_every_rejected_row_is_stored_once_with_its_reason(district_copy) -> None:
    """Thousands of rows dated in another year, cleaned in a worker process as `run` does: each
    is in rejected.parquet once, with its row and reason, and in the commune's rejected.csv;
    preparing the commune again replaces its rows, and another commune's stay."""
    from openpyxl import load_workbook

    from pipeline.running.bookkeeping import record_year
    from pipeline.running.documents import CommuneRun
    from pipeline.running.preparing import prepare
    from pipeline.sample import sample_commune

    paths, year, added = district_copy, 2022, 3_000
    workbook = paths.raw_year(year) / "10627-nam-chinh.xlsx"
    book = load_workbook(workbook)
    log = book["Nhật ký hoạt động"]
    template = [cell.value for cell in log[2]]
    date = [cell.value for cell in log[1]].index("Ngày")
    first = log.max_row + 1
    for n in range(added):
        row = list(template)
        row[date] = f"{1 + n % 28:02d}/{1 + n % 12:02d}/2019"
        log.append(row)
    book.save(workbook)
    nam_chinh, an_lam = sample_commune(year, "nam-chinh"), sample_commune(year, "an-lam")

    assert prepare(paths, year, [nam_chinh, an_lam], workers=2) == {}
    stored = pd.read_parquet(paths.processed_year(year) / "rejected.parquet")
    mine = stored[(stored["commune_code"] == "10627") & (stored["excel_row"] >= first)]
    assert sorted(mine["excel_row"]) == list(range(first, first + added))  # each once
    assert set(mine["reason_code"]) == {"date_outside_year"}
    assert set(mine["reason"]) == {"Ngày nằm ngoài năm báo cáo"}
    assert set(mine["sheet"]) == {"Nhật ký hoạt động"} and set(mine["column"]) == {"Ngày"}
    assert (stored["commune_code"] == "10645").any()  # the sample's own planted errors
    assert not stored.duplicated(["commune_code", "file", "sheet", "excel_row", "column"]).any()

    assert prepare(paths, year, [nam_chinh], workers=2) == {}  # again: replaced, not added
    again = pd.read_parquet(paths.processed_year(year) / "rejected.parquet")
    pd.testing.assert_frame_equal(
        again.sort_values(
            ["commune_code", "sheet", "excel_row", "column"], kind="stable"
        ).reset_index(drop=True),
        stored.sort_values(
            ["commune_code", "sheet", "excel_row", "column"], kind="stable"
        ).reset_index(drop=True),
    )

    folder = paths.outputs_year(year) / nam_chinh.stem
    folder.mkdir(parents=True)
    record_year(paths, year, [CommuneRun(nam_chinh, "ok")], {}, index=False)
    written = pd.read_csv(folder / "rejected.csv", encoding="utf-8-sig", dtype=str)
    assert len(written) == (stored["commune_code"] == "10627").sum()
    late = written[written["Dòng"].astype(int) >= first]
    assert sorted(late["Dòng"].astype(int)) == list(range(first, first + added))
    assert set(late["Lý do"]) == {"Ngày nằm ngoài năm báo cáo"}


def test_a_chunk_that_stops_after_writing_its_log_is_not_counted_twice(
    district_copy, monkeypatch
) -> None:
    """A chunk's process writes its fixes and rejected rows, then fails: its communes are done
    again one by one, and only those runs' parts are stored, each row once."""
    from pipeline.running import preparing
    from pipeline.running.preparing import prepare
    from pipeline.sample import sample_commune

    paths, year = district_copy, 2022
    communes = [sample_commune(year, s) for s in ("nam-chinh", "an-lam")]
    assert prepare(paths, year, communes, workers=2) == {}
    tables = ("fixes", "rejected")
    expected = {t: pd.read_parquet(paths.processed_year(year) / f"{t}.parquet") for t in tables}
    assert all(len(expected[t]) for t in tables)
    written = preparing.store.write_log_part

    def then_fail(frame, path):  # the workers are forked: they run this
        written(frame, path)
        if path.name.startswith("rejected-") and path.name.endswith("-2.parquet"):
            raise MemoryError("planted, after the chunk's parts were written")

    monkeypatch.setattr(preparing.store, "write_log_part", then_fail)
    (paths.processed_year(year) / "rejected.parquet").unlink()
    (paths.processed_year(year) / "fixes.parquet").unlink()
    assert prepare(paths, year, communes, workers=2) == {}
    order = ["commune_code", "sheet", "excel_row", "column"]
    for table in tables:
        stored = pd.read_parquet(paths.processed_year(year) / f"{table}.parquet")
        pd.testing.assert_frame_equal(
            stored.sort_values(order, kind="stable").reset_index(drop=True),
            expected[table].sort_values(order, kind="stable").reset_index(drop=True),
        )
    assert not (paths.processed_year(year) / ".log-parts").exists()
