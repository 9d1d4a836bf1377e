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


def build(wheels: dict[str, Path], work: Path) -> list[dict[str, str]]:
    old = tree_2022(wheels["vietnam-provinces==0.4.3"])
    db = _database(wheels["vietnamadminunits==1.0.4"], work)
    before = tree_before_july_2025(db)
    after = tree_from_july_2025(db)
    for tree in (old, before, after):
        codes = [u["code"] for u in tree]
        assert len(codes) == len(set(codes)), "a code twice in one tree"

    src_2022 = "vietnam-provinces 0.4.3 (GSO list)"
    src_2025 = "vietnamadminunits 1.0.4 admin_units_legacy"
    src_2025_07 = "vietnamadminunits 1.0.4 admin_units"
    last_day_before_reform = (REFORM_2025 - dt.timedelta(days=1)).isoformat()
    before_by_identity = {_identity(u): u for u in before}
    old_identities = {_identity(u) for u in old}
    units: list[dict[str, str]] = []

    def merger_date(province_code: str) -> tuple[dt.date, str]:
        return MERGER_DATES.get(province_code, (DEFAULT_MERGER_DATE, ASSUMED_NOTE))

    for unit in old:
        same = before_by_identity.get(_identity(unit))
        if same is not None:  # unchanged by the mergers: one entry, the newer spelling
            units.append(
                {
                    **same,
                    "valid_from": "",
                    "valid_to": last_day_before_reform,
                    "source": f"{src_2022}; {src_2025}",
                    "note": "",
                }
            )
            continue
        date, note = merger_date(unit["province_code"])
        units.append(
            {
                **unit,
                "valid_from": "",
                "valid_to": (date - dt.timedelta(days=1)).isoformat(),
                "source": src_2022,
                "note": note,
            }
        )
    for unit in before:
        if _identity(unit) in old_identities:
            continue
        date, note = merger_date(unit["province_code"])
        units.append(
            {
                **unit,
                "valid_from": date.isoformat(),
                "valid_to": last_day_before_reform,
                "source": src_2025,
                "note": note,
            }
        )
    for unit in after:
        units.append(
            {
                **unit,
                "valid_from": REFORM_2025.isoformat(),
                "valid_to": "",
                "source": src_2025_07,
                "note": "",
            }
        )
    for unit in units:
        unit["kind"] = kind_of(unit["name"])
    units.sort(key=lambda u: (u["code"], u["valid_to"] or "9999"))
    return units


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheels", type=Path, help="folder holding (or to receive) the wheels")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.wheels or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        units = build(fetch_wheels(folder), Path(tmp))
    with open(args.output, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(units)
    print(f"wrote {len(units)} entries to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
