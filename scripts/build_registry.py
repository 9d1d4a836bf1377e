"""Build `pipeline/data/units.csv`, the national registry of commune-level units, from open data.

    python scripts/build_registry.py            # downloads the two pinned wheels with pip
    python scripts/build_registry.py --wheels DIR   # or reads them from DIR

Sources (the wheels are fetched by pip from PyPI, checked against the hashes below, and only
their data files are read; neither package is a dependency of cnscd):

- `vietnam-provinces` 0.4.3 (GPL-3.0-or-later), `data/flat-divisions.json`: the General
  Statistics Office's list of units (danh mục hành chính) with districts, about 10,600 communes,
  the tree before the 2023-2025 commune mergers (reports of 2022, 2023, most of 2024).
- `vietnamadminunits` 1.0.4 (MIT), `data/dataset.db`: table `admin_units_legacy`, the 63-province
  tree just before 1 July 2025 (10,035 communes, after the mergers), and table `admin_units`, the
  34-province two-level tree from 1 July 2025 (3,321 units, no districts).

What the datasets do not say, and how the table says so (column `note`):

- The date each 2024-2025 merger took effect is not in either dataset. The resolutions took
  effect between 1/11/2024 and 1/1/2025; a province whose date is known is listed in
  `MERGER_DATES` (Hải Dương: 1/12/2024), every other province's changes are dated 1/1/2025 and
  noted as assumed.
- A unit whose code, name and parents are the same in both pre-July-2025 trees is one entry
  valid from the first tree to 30/6/2025. A unit that kept its code and name while absorbing a
  neighbour cannot be told apart by these datasets and is that one entry too.
- The first tree's own start is not known (the dataset is one snapshot): `valid_from` is empty.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "pipeline" / "data" / "units.csv"

WHEELS = {
    "vietnam-provinces==0.4.3": (
        "vietnam_provinces-0.4.3-py3-none-any.whl",
        "22be3c499998d29a457120a4be7a484c11570d3507f948f23e3418ad6c152e5f",
    ),
    "vietnamadminunits==1.0.4": (
        "vietnamadminunits-1.0.4-py3-none-any.whl",
        "737ee3662e877290386c1c45ed4d71f2e5fae34ab6fb9c64bfb4cb74b216ea35",
    ),
}

REFORM_2025 = dt.date(2025, 7, 1)
# Provinces whose 2024-2025 merger date is known, by pre-2025 province code.
MERGER_DATES = {"30": (dt.date(2024, 12, 1), "Hải Dương's mergers took effect on 1/12/2024")}
DEFAULT_MERGER_DATE = dt.date(2025, 1, 1)
ASSUMED_NOTE = (
    "merger date not in the datasets: taken as 1/1/2025 (the resolutions took effect between "
    "1/11/2024 and 1/1/2025)"
)

COLUMNS = [
    "code",
    "name",
    "kind",
    "district_code",
    "district_name",
    "province_code",
    "province_name",
    "valid_from",
    "valid_to",
    "source",
    "note",
]
LINEAGE_NAME = "lineage.csv"
LINEAGE_COLUMNS = [
    "from_code",
    "from_name",
    "from_valid_to",
    "to_code",
    "to_name",
    "to_valid_from",
    "date",
    "split",
    "main",
    "source",
]
COMMUNE_KINDS = ("Thị trấn", "Đặc khu", "Phường", "Xã")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split()))


UNIT_KINDS = ("Thị trấn", "Đặc khu", "Phường", "Xã", "Huyện", "Quận", "Thị xã", "Thành phố", "Tỉnh")


def unit_name(text: str) -> str:
    """NFC, single spaces, the kind written as the decree does ('Thị Trấn' -> 'Thị trấn')."""
    name = nfc(text)
    for kind in UNIT_KINDS:
        if name.lower().startswith(kind.lower() + " "):
            return kind + name[len(kind) :]
    return name


def kind_of(name: str) -> str:
    for kind in COMMUNE_KINDS:
        if name.startswith(kind + " "):
            return kind
    raise ValueError(f"no kind in unit name {name!r}")


def fold(text: str) -> str:
    """Names compared without marks or case: 'Hoà' (old tone placement) equals 'Hòa'."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def fetch_wheels(folder: Path) -> dict[str, Path]:
    """The two wheels, downloaded by pip unless present, each checked against its hash."""
    found = {}
    for requirement, (filename, sha256) in WHEELS.items():
        path = folder / filename
        if not path.exists():
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "-q",
                    "-d",
                    str(folder),
                    requirement,
                ],
                check=True,
            )
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != sha256:
            raise SystemExit(f"{filename}: sha256 {digest}, expected {sha256}")
        found[requirement] = path
    return found


def tree_2022(wheel: Path) -> list[dict[str, str]]:
    """The GSO tree with districts, before the 2023-2025 mergers."""
    with zipfile.ZipFile(wheel) as archive:
        rows = json.loads(archive.read("vietnam_provinces/data/flat-divisions.json"))
    return [
        {
            "code": f"{r['ward_code']:05d}",
            "name": unit_name(r["ward_name"]),
            "district_code": f"{r['district_code']:03d}",
            "district_name": unit_name(r["district_name"]),
            "province_code": f"{r['province_code']:02d}",
            "province_name": unit_name(r["province_name"]),
        }
        for r in rows
        if r["ward_code"] is not None  # island districts without communes
    ]


def _database(wheel: Path, folder: Path) -> sqlite3.Connection:
    with zipfile.ZipFile(wheel) as archive:
        target = folder / "dataset.db"
        target.write_bytes(archive.read("vietnamadminunits/data/dataset.db"))
    return sqlite3.connect(target)


def tree_before_july_2025(db: sqlite3.Connection) -> list[dict[str, str]]:
    rows = db.execute(
        "SELECT wardCode, ward, districtCode, district, provinceCode, province "
        "FROM admin_units_legacy WHERE wardCode IS NOT NULL"
    )
    return [
        {
            "code": code.zfill(5),
            "name": unit_name(name),
            "district_code": district_code.zfill(3),
            "district_name": unit_name(district),
            "province_code": province_code.zfill(2),
            "province_name": unit_name(province),
        }
        for code, name, district_code, district, province_code, province in rows
    ]


def tree_from_july_2025(db: sqlite3.Connection) -> list[dict[str, str]]:
    rows = db.execute("SELECT wardCode, ward, provinceCode, province FROM admin_units")
    return [
        {
            "code": code.zfill(5),
            "name": unit_name(name),
            "district_code": "",
            "district_name": "",
            "province_code": province_code.zfill(2),
            "province_name": unit_name(province),
        }
        for code, name, province_code, province in rows
    ]


def _identity(unit: dict[str, str]) -> tuple[str, ...]:
    return (
        unit["code"],
        fold(unit["name"]),
        unit["district_code"],
        fold(unit["district_name"]),
        unit["province_code"],
    )


def name_key(name: str) -> str:
    """'Xã Nam Chính' -> 'xanamchinh', as the datasets' keys and aliases write names."""
    return re.sub(r"[^a-z0-9]", "", fold(name))


def _aliases(db: sqlite3.Connection) -> dict[str, list[str]]:
    """For each unit of the tree before July 2025, the names it had before the mergers, as the
    dataset lists them (`wardAlias`): full names only ('xanamchinh', not 'namchinh')."""
    found = {}
    for code, aliases in db.execute(
        "SELECT wardCode, wardAlias FROM admin_units_legacy WHERE wardCode IS NOT NULL"
    ):
        keys = json.loads(aliases) if aliases else []
        found[code.zfill(5)] = [k for k in keys if k.startswith(("xa", "phuong", "thitran"))]
    return found


def _keys_2025(db: sqlite3.Connection) -> tuple[dict[str, str], dict[str, str]]:
    """The converter's keys of units: 'province_district_ward' before July 2025 and
    'province_ward' after, each to its code."""
    before = {
        f"{p}_{d}_{w}": code.zfill(5)
        for code, p, d, w in db.execute(
            "SELECT wardCode, provinceKey, districtKey, wardKey FROM admin_units_legacy "
            "WHERE wardCode IS NOT NULL"
        )
    }
    after = {
        f"{p}_{w}": code.zfill(5)
        for code, p, w in db.execute("SELECT wardCode, provinceKey, wardKey FROM admin_units")
    }
    return before, after


def _entry(unit: dict[str, str], valid_from: str, valid_to: str, source: str, note: str) -> dict:
    return {**unit, "valid_from": valid_from, "valid_to": valid_to, "source": source, "note": note}


def _link(
    old: dict[str, str], new: dict[str, str], date: dt.date, split: bool, main: str, source: str
) -> dict[str, str]:
    return {
        "from_code": old["code"],
        "from_name": old["name"],
        "from_valid_to": old["valid_to"],
        "to_code": new["code"],
        "to_name": new["name"],
        "to_valid_from": new["valid_from"],
        "date": date.isoformat(),
        "split": "1" if split else "0",
        "main": main,
        "source": source,
    }


def build(wheels: dict[str, Path], work: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The registry's entries and the lineage between them (predecessor -> successor)."""
    old = tree_2022(wheels["vietnam-provinces==0.4.3"])
    zipped = wheels["vietnamadminunits==1.0.4"]
    db = _database(zipped, work)
    before = tree_before_july_2025(db)
    after = tree_from_july_2025(db)
    for tree in (old, before, after):
        codes = [u["code"] for u in tree]
        assert len(codes) == len(set(codes)), "a code twice in one tree"

    src_2022 = "vietnam-provinces 0.4.3 (GSO list)"
    src_2025 = "vietnamadminunits 1.0.4 admin_units_legacy"
    src_2025_07 = "vietnamadminunits 1.0.4 admin_units"
    last_day_before_reform = (REFORM_2025 - dt.timedelta(days=1)).isoformat()

    def merger_date(province_code: str) -> tuple[dt.date, str]:
        return MERGER_DATES.get(province_code, (DEFAULT_MERGER_DATE, ASSUMED_NOTE))

    # Which units of the first tree each unit before July 2025 was made of: its aliases that
    # name a unit of the same province in the first tree, other than its unchanged self.
    before_by_identity = {_identity(u): u for u in before}
    continuing = {u["code"] for u in old if _identity(u) in before_by_identity}
    old_by_key: dict[tuple[str, str], list[dict[str, str]]] = {}
    for u in old:  # a province may hold two communes of one name (two Thanh Quang in Hải Dương)
        old_by_key.setdefault((u["province_code"], name_key(u["name"])), []).append(u)

    def named(unit: dict[str, str], key: str) -> dict[str, str] | None:
        """The unit of the first tree a name points to: in the same district, else the only one
        of that name in the province."""
        found = old_by_key.get((unit["province_code"], key), [])
        near = [u for u in found if u["district_code"] == unit["district_code"]]
        return near[0] if len(near) == 1 else (found[0] if len(found) == 1 else None)

    aliases = _aliases(db)
    old_by_code = {u["code"]: u for u in old}
    made_of: dict[str, list[dict[str, str]]] = {}
    for unit in before:
        # The aliases name the parts whose names the unit did not keep; a part whose name it
        # kept under another code (Quốc Tuấn 10624 -> 10621), and the unit whose code it took
        # (Thanh Quang 10621), are inferred.
        keys = [*aliases.get(unit["code"], [])]
        if unit["code"] not in continuing:
            keys.append(name_key(unit["name"]))
        found = [named(unit, key) for key in dict.fromkeys(keys)]
        same_code = old_by_code.get(unit["code"])
        if unit["code"] not in continuing and same_code is not None:
            found.append(same_code if same_code["province_code"] == unit["province_code"] else None)
        parts = list({p["code"]: p for p in found if p is not None}.values())
        parts = [p for p in parts if p["code"] not in continuing]  # a unit that went on is none
        if parts:
            made_of[unit["code"]] = parts
    successors_of: dict[str, int] = {}
    for parts in made_of.values():
        for part in parts:
            successors_of[part["code"]] = successors_of.get(part["code"], 0) + 1

    units: list[dict[str, str]] = []
    first_entry: dict[str, dict[str, str]] = {}  # code -> its entry in the first tree
    second_entry: dict[str, dict[str, str]] = {}  # code -> its entry just before July 2025
    for unit in old:
        same = before_by_identity.get(_identity(unit))
        date, note = merger_date(unit["province_code"])
        if same is not None and same["code"] not in made_of:  # unchanged: one entry
            entry = _entry(same, "", last_day_before_reform, f"{src_2022}; {src_2025}", "")
            second_entry[same["code"]] = entry
        elif same is not None:  # it absorbed neighbours: the same name, another territory
            names = ", ".join(p["name"] for p in made_of[same["code"]])
            entry = _entry(same, "", (date - dt.timedelta(days=1)).isoformat(), src_2022, note)
            second_entry[same["code"]] = _entry(
                same, date.isoformat(), last_day_before_reform, src_2025, f"absorbed {names}"
            )
            units.append(second_entry[same["code"]])
        else:
            if unit["code"] not in successors_of:
                note = f"{note}; successor not in the datasets"
            entry = _entry(unit, "", (date - dt.timedelta(days=1)).isoformat(), src_2022, note)
        units.append(entry)
        first_entry[unit["code"]] = entry
    for unit in before:
        if unit["code"] in second_entry:
            continue
        date, note = merger_date(unit["province_code"])
        if unit["code"] not in made_of:
            note = f"{note}; predecessors not in the datasets"
        second_entry[unit["code"]] = _entry(
            unit, date.isoformat(), last_day_before_reform, src_2025, note
        )
        units.append(second_entry[unit["code"]])
    third_entry = {
        u["code"]: _entry(u, REFORM_2025.isoformat(), "", src_2025_07, "") for u in after
    }
    units.extend(third_entry.values())

    lineage: list[dict[str, str]] = []
    for code, parts in made_of.items():
        new = second_entry[code]
        date, _ = merger_date(new["province_code"])
        own = first_entry.get(code)
        if code in continuing and own is not new:  # it went on, and absorbed its neighbours
            lineage.append(_link(own, new, date, False, "1", src_2025))
        for part in parts:
            split = successors_of[part["code"]] > 1  # the dataset names no main successor
            lineage.append(
                _link(first_entry[part["code"]], new, date, split, "" if split else "1", src_2025)
            )
    keys_before, keys_after = _keys_2025(db)
    with zipfile.ZipFile(zipped) as archive:
        converter = json.loads(archive.read("vietnamadminunits/data/converter_2025.json"))
    src_converter = "vietnamadminunits 1.0.4 converter_2025"
    for province, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for ward, olds in wards.items():
            new = third_entry[keys_after[f"{province}_{ward}"]]
            for key in olds:
                if key in keys_before:  # island districts without communes have no key
                    lineage.append(
                        _link(
                            second_entry[keys_before[key]],
                            new,
                            REFORM_2025,
                            False,
                            "1",
                            src_converter,
                        )
                    )
    for province, olds in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for key, news in olds.items():
            for part in news:
                new = third_entry[keys_after[f"{province}_{part['newWardKey']}"]]
                main = "1" if part["isDefaultNewWard"] else "0"
                lineage.append(
                    _link(
                        second_entry[keys_before[key]], new, REFORM_2025, True, main, src_converter
                    )
                )
    for unit in units:
        unit["kind"] = kind_of(unit["name"])
    units.sort(key=lambda u: (u["code"], u["valid_to"] or "9999"))
    lineage.sort(key=lambda r: (r["date"], r["to_code"], r["from_code"]))
    return units, lineage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheels", type=Path, help="folder holding (or to receive) the wheels")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.wheels or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        units, lineage = build(fetch_wheels(folder), Path(tmp))
    for path, columns, rows in (
        (args.output, COLUMNS, units),
        (args.output.with_name(LINEAGE_NAME), LINEAGE_COLUMNS, lineage),
    ):
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {len(rows)} rows to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
