"""The blank workbook an analyst fills: headers, drop-down lists, frozen headers, an example.

Examples live on their own sheet ("Hướng dẫn") rather than in the data sheets, so that an example
row left in place can never be read as data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from pipeline.core import contract
from pipeline.registry.tree import Commune, in_sentence
from pipeline.registry.units import (
    COMMUNE_KINDS,
    DEFAULT_VILLAGE_KIND,
    TEAM_VILLAGE_KINDS,
    VILLAGE_KINDS,
    prefix_kind,
    village_in_sentence,
)

LISTS_SHEET = "Danh mục"
GUIDE_SHEET = "Hướng dẫn"
ROWS_WITH_LISTS = 5_000
_HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")


def examples(
    commune: Commune | None = None, villages: list[str] | None = None, year: int | None = None
) -> dict[str, dict[str, object]]:
    """One example row per sheet, for the "Hướng dẫn" sheet: in the commune's own names and
    words (a phường's tổ dân phố, a commune of bản) and dated in the year, when they are given."""
    year = year or 2022
    if commune is None:
        identity = {
            "commune_code": "10627",
            "commune_name": "Xã Nam Chính",
            "district_name": "Huyện Nam Sách",
            "province_name": "Tỉnh Hải Dương",
        }
        village_kind = "thôn"
    else:
        identity = {
            "commune_code": commune.code,
            "commune_name": commune.name,
            "district_name": commune.district_name,
            "province_name": commune.province_name,
        }
        village_kind = village_kind_of(commune, villages)
    village = (villages or [None])[0] or f"{village_kind.capitalize()} 1"
    kind_word = village_kind.capitalize()
    named = village if prefix_kind(village) else f"{village_kind} {village}"
    named = village_in_sentence(named)
    issuer = f"UBND {in_sentence(identity['commune_name'])}"
    return {
        "commune": {
            **identity,
            "signer": "Nguyễn Văn A",
            "signer_title": "Chủ tịch",
            "report_number": 5,
            "report_date": dt.date(year + 1, 1, 15),
            "area_km2": 4.28,
        },
        "villages": {
            "village": village,
            "households": 300,
            "population": 1200,
            "village_kind": kind_word,
            "adults": 880,
            "people_15": 960,
        },
        "members": {
            "team_level": kind_word,
            "village": village,
            "name": "Nguyễn Văn An",
            "role": "Tổ trưởng",
            "birth_year": 1970,
            "organisation": f"Trưởng {village_kind}",
            "phone": "09xxxxxxxx",
            "smartphone": "Có",
        },
        "trainings": {
            "date": dt.date(year, 5, 12),
            "mode": "Trực tuyến",
            "organiser": issuer,
            "participants": 39,
            "topic": "Hướng dẫn sử dụng Cổng dịch vụ công",
        },
        "activities": {
            "date": dt.date(year, 6, 3),
            "team_level": kind_word,
            "village": village,
            "member": "Nguyễn Văn An",
            "activity": "Hướng dẫn cài đặt sổ sức khỏe điện tử",
            "pillar": "Xã hội số",
            "service": "Sổ sức khỏe điện tử",
            "channel": "Trực tiếp",
            "people": 12,
            "notes": "",
        },
        "results": {
            "month": f"06/{year}",
            "village": village,
            "indicator": "Thuê bao nâng cấp 4G",
            "value": 5,
        },
        "zalo": {
            "group_name": f"CNSCĐ {named}",
            "team_level": kind_word,
            "village": village,
            "group_members": 250,
            "created": dt.date(year, 5, 3),
            "contact": "Có",
        },
        "decisions": {
            "number": "40/QĐ-UBND",
            "doc_kind": "Quyết định",
            "date": dt.date(year, 4, 25),
            "issuer": issuer,
            "subject": f"Thành lập Tổ công nghệ số cộng đồng {named}",
        },
    }


def village_kind_of(commune: Commune, villages: list[str] | None = None) -> str:
    """The kind of the commune's villages: as their names say ('Bản Mòng'), else its kind's."""
    named = next((k for k in map(prefix_kind, villages or []) if k and k != "tổ"), None)
    return named or DEFAULT_VILLAGE_KIND.get(commune.kind.lower(), "thôn")


def team_levels(
    commune: Commune | None = None, villages: list[str] | None = None
) -> tuple[str, ...]:
    """The words "Cấp tổ" offers: the commune's own level, then its villages' kind, then the
    other kinds: every word cleaning reads as the commune level or the village level."""
    kinds = [kind.capitalize() for kind in TEAM_VILLAGE_KINDS]
    if commune is None:
        return (*(kind.capitalize() for kind in COMMUNE_KINDS), *kinds)
    own = village_kind_of(commune, villages).capitalize()
    return (commune.kind, own, *(k for k in kinds if k != own))


def _lists(villages: list[str], commune: Commune | None) -> dict[str, tuple[str, ...]]:
    """Drop-down lists by column key."""
    lists = {
        "team_level": team_levels(commune, villages),
        "role": contract.ROLES,
        "smartphone": ("Có", "Không"),
        "mode": contract.TRAINING_MODES,
        "pillar": contract.PILLARS,
        "service": tuple(contract.SERVICES),
        "channel": contract.CHANNELS,
        "indicator": tuple(contract.ALL_RESULT_KINDS),
        "village_kind": tuple(kind[:1].upper() + kind[1:] for kind in VILLAGE_KINDS),
    }
    if villages:
        lists["village"] = tuple(villages)
    return lists


def write_template(
    path: Path,
    commune: Commune | None = None,
    villages: list[str] | None = None,
    year: int | None = None,
) -> Path:
    """Write the blank workbook; with a commune, its identity is filled in and villages listed
    (and a unit of a tree without districts gets no "Huyện" column)."""
    villages = villages or []
    workbook = Workbook()
    workbook.remove(workbook.active)
    lists = _lists(villages, commune)
    omitted = {"district_name"} if commune is not None and not commune.district_name else set()
    list_sheet = workbook.create_sheet(LISTS_SHEET)
    ranges: dict[str, str] = {}
    for column_index, (key, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(column_index)
        list_sheet.cell(1, column_index, key)
        for row_index, value in enumerate(values, start=2):
            list_sheet.cell(row_index, column_index, value)
        ranges[key] = f"'{LISTS_SHEET}'!${letter}$2:${letter}${len(values) + 1}"
    list_sheet.sheet_state = "hidden"

    for sheet in contract.SHEETS:
        worksheet = workbook.create_sheet(sheet.name)
        columns = [c for c in sheet.columns if c.key not in omitted]
        for column_index, column in enumerate(columns, start=1):
            cell = worksheet.cell(1, column_index, column.header)
            cell.font = Font(bold=column.required)  # as the guide says: bold is required
            cell.fill = _HEADER_FILL
            worksheet.column_dimensions[get_column_letter(column_index)].width = max(
                14, len(column.header) + 4
            )
            letter = get_column_letter(column_index)
            if column.key in ranges and (sheet.key, column.key) != ("villages", "village"):
                validation = DataValidation(
                    type="list",
                    formula1=f"={ranges[column.key]}",
                    allow_blank=not column.required,
                    showErrorMessage=True,
                    errorTitle="Giá trị không hợp lệ",
                    error="Chọn một giá trị trong danh sách.",
                )
                validation.add(f"{letter}2:{letter}{ROWS_WITH_LISTS}")
                worksheet.add_data_validation(validation)
            if column.kind == "date":  # the column's style: no empty cell is written
                worksheet.column_dimensions[letter].number_format = "dd/mm/yyyy"
        worksheet.freeze_panes = "A2"
    if commune is not None:
        identity = workbook[contract.COMMUNE.name]
        values = {
            "commune_code": commune.code,
            "commune_name": commune.name,
            "district_name": commune.district_name,
            "province_name": commune.province_name,
        }
        columns = [c for c in contract.COMMUNE.columns if c.key not in omitted]
        for column_index, column in enumerate(columns, start=1):
            if column.key in values:
                identity.cell(2, column_index, values[column.key])
        for row_index, village in enumerate(villages, start=2):
            workbook[contract.VILLAGES.name].cell(row_index, 1, village)

    guide = workbook.create_sheet(GUIDE_SHEET, 0)
    guide.append(
        [
            "Mỗi trang tính dưới đây có một dòng ví dụ. Điền số liệu vào các trang tính "
            "cùng tên; cột có dấu * (tiêu đề in đậm ở trang tính) là bắt buộc. Không sửa dòng "
            "tiêu đề."
        ]
    )
    shown = examples(commune, villages, year)
    for sheet in contract.SHEETS:
        columns = [c for c in sheet.columns if c.key not in omitted]
        guide.append([])
        guide.append([sheet.name])
        guide.cell(guide.max_row, 1).font = Font(bold=True, size=12)
        guide.append([c.header + (" *" if c.required else "") for c in columns])
        for cell in guide[guide.max_row]:
            cell.font = Font(bold=True)
            cell.fill = _HEADER_FILL
        guide.append([shown[sheet.key].get(c.key) for c in columns])
        for cell in guide[guide.max_row]:
            cell.font = Font(italic=True, color="555555")
            if isinstance(cell.value, dt.date):
                cell.number_format = "dd/mm/yyyy"
    guide.column_dimensions["A"].width = 28
    fixed = dt.datetime(2000, 1, 1)
    workbook.properties.created = workbook.properties.modified = fixed
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path
