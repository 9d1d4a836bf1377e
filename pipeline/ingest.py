"""Reading an analyst's workbook into raw tables keyed by the data contract.

Headers are matched the way people write them (any case, with or without diacritics, synonyms).
Cells are kept as read: cleaning is another module's job. Each row keeps its Excel row number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline import contract
from pipeline.errors import InputError
from pipeline.vntext import match_key

ROW = "_row"  # the row number as Excel shows it


@dataclass(frozen=True)
class RawWorkbook:
    path: Path
    tables: dict[str, pd.DataFrame]  # sheet key -> columns by key, plus ROW
    sheet_names: dict[str, str]  # sheet key -> the sheet's name in the file


def _names(header: str, synonyms: tuple[str, ...]) -> set[str]:
    return {match_key(name) for name in (header, *synonyms)}


def _find_sheet(sheet: contract.Sheet, available: list[str]) -> str | None:
    wanted = _names(sheet.name, sheet.synonyms)
    return next((name for name in available if match_key(name) in wanted), None)


def _header_row(grid: pd.DataFrame) -> int | None:
    for index in range(min(len(grid), 10)):
        if grid.iloc[index].notna().sum() >= 2 or (
            grid.shape[1] == 1 and grid.iloc[index].notna().any()
        ):
            return index
    return None


def _table(grid: pd.DataFrame, sheet: contract.Sheet, sheet_name: str, file: Path) -> pd.DataFrame:
    header_index = _header_row(grid)
    columns: dict[str, int] = {}
    if header_index is not None:
        headers = [match_key(str(v)) if pd.notna(v) else "" for v in grid.iloc[header_index]]
        for column in sheet.columns:
            wanted = _names(column.header, column.synonyms)
            position = next((i for i, h in enumerate(headers) if h in wanted), None)
            if position is not None and position not in columns.values():
                columns[column.key] = position
    missing = [c for c in sheet.columns if c.required and c.key not in columns]
    if missing:
        raise InputError(
            f"required column '{missing[0].header}' not found; the sheet's first row must hold "
            f"the headers ({', '.join(c.header for c in sheet.columns)})",
            file=file.name,
            sheet=sheet_name,
            row=(header_index or 0) + 1,
            column=missing[0].header,
        )
    assert header_index is not None
    body = grid.iloc[header_index + 1 :]
    table = pd.DataFrame(
        {
            column.key: (
                body.iloc[:, columns[column.key]]
                if column.key in columns
                else pd.Series(None, index=body.index, dtype=object)
            )
            for column in sheet.columns
        }
    )
    table.insert(0, ROW, body.index.to_numpy() + 1)
    return table.reset_index(drop=True)


def read_workbook(path: Path) -> RawWorkbook:
    """Every sheet of the data contract found in a workbook (.xlsx) or a folder of CSV files."""
    if not path.exists():
        raise InputError(
            "workbook not found; run `cnscd sample` or put the commune's workbook there",
            file=str(path),
        )
    try:
        grids = _read_grids(path)
    except InputError:
        raise
    except Exception as exc:  # the reader's own message says what is wrong with the file
        raise InputError(
            f"cannot be read as a workbook ({type(exc).__name__}: {exc})", file=path.name
        ) from exc
    tables: dict[str, pd.DataFrame] = {}
    sheet_names: dict[str, str] = {}
    for sheet in contract.SHEETS:
        found = _find_sheet(sheet, list(grids))
        if found is None:
            if sheet.required:
                raise InputError(
                    f"required sheet '{sheet.name}' is missing (sheets found: "
                    f"{', '.join(grids) or 'none'})",
                    file=path.name,
                    sheet=sheet.name,
                )
            continue
        tables[sheet.key] = _table(grids[found], sheet, found, path)
        sheet_names[sheet.key] = found
    return RawWorkbook(path, tables, sheet_names)


def _read_grids(path: Path) -> dict[str, pd.DataFrame]:
    if path.is_dir():
        return {
            csv.stem: pd.read_csv(
                csv,
                header=None,
                dtype=object,
                keep_default_na=False,
                na_values=[""],
                encoding="utf-8-sig",
            )
            for csv in sorted(path.glob("*.csv"))
        }
    return pd.read_excel(path, sheet_name=None, header=None, engine="calamine", dtype=object)
