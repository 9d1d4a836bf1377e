"""The sample district: analysts' workbooks for Nam Sách, with the mess real files carry; and,
for 2025, two merged units of real size (`POST_MERGER`: tens of thousands of people, dozens of
villages, hundreds of members).

Deterministic for a seed. The demo's Nam Chính 2022 is drawn to look like the real report in
shared/seed (20 commune members, 19 in 4 village teams, 01 + 4 Zalo groups, one online class,
decisions 689/QĐ-UBND and 40/QĐ-UBND, signer Trần Văn Xuyến), and fills what the seed leaves out
with made-up values (the villages, the roster, report number 05 of 05/3/2023). That is the demo's
choice, so that its best-known commune reads like a real report; these constants are no source
of the seed's facts and no test of them. The seed's facts are tested from `tests/fixtures/seed`
(a workbook typed by hand from the report, `tests/test_seed_fixture.py`); the end-to-end test
counts what a report must say from the workbooks written here, never from these constants.
Every planted problem is written to `_planted.csv` beside the workbooks, the ground truth that
the cleaning tests measure recall and precision against.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
from openpyxl import Workbook

from pipeline.core import contract
from pipeline.core.files import fixed_zip, write_atomically
from pipeline.core.vntext import TCVN3_TO_UNICODE, strip_diacritics
from pipeline.registry.tree import (
    EXTRA_COLUMNS,
    EXTRA_REGISTRY_NAME,
    Commune,
    changes_during,
    find_commune,
    find_district,
    in_sentence,
    predecessors,
)
from pipeline.registry.units import prefix_kind

YEARS = (2022, 2023)
# Years after the reforms: the seed's commune followed through them (see `reform_workbooks`).
REFORM_YEARS = (2024, 2025)
TRAN_PHU = "10633"  # Nam Chính and Nam Trung from 01/12/2024; with Hiệp Cát, Quốc Tuấn from 7/2025
PLANTED_FILE = "_planted.csv"
PLANTED_COLUMNS = (
    "commune_code",
    "year",
    "file",
    "sheet",
    "excel_row",
    "column",
    "kind",
    "raw",
    "expected",
)
MESS_RATE = 0.03
# The demo's Nam Chính: the constants that name it below are the demo's choice (see the module's
# docstring), not the seed's facts, which are tested from tests/fixtures/seed.
NAM_CHINH = "10627"
# Communes of the sample district that show the cases a report must read right for:
TOWN = "10606"  # Thị trấn Nam Sách: its units are tổ dân phố, named "Tổ dân phố số 1"…
TOWN_UNITS = 8
NO_COMMUNE_TEAM = "10609"  # Nam Hưng: village teams only, no commune-level team
ONE_TEAM = "10612"  # Nam Tân: the commune-level team alone, no village team
LOG_TO_APRIL = ("10615", 2023)  # Hợp Tiến 2023: the log stops at the end of April
# Real units of the 2025 tree, each formed on 01/07/2025 from several, written at the size of a
# merged commune (`REAL_SIZE`): Phường Hải Dương (four phường of Thành phố Hải Dương) and Xã Thái
# Tân (three xã of Nam Sách), both of Thành phố Hải Phòng. `post_merger_communes` gives them.
POST_MERGER = ("10525", "10642")
POST_MERGER_YEAR = 2025
# Codes of the made-up merged communes `generate(merged=True)` writes for benchmarks (the other
# made-up communes' codes start with 9; the registry's have five digits).
MERGED_SYNTHETIC = "8"
# Made up: the seed names no village of Nam Chính (its "4 Tổ CNSCĐ cấp thôn" give the number).
NAM_CHINH_VILLAGES = (
    ("Bịch Đông", 1200),
    ("Bịch Tây", 1010),
    ("An Thượng", 985),
    ("Hoàng Xá", 930),
)
VILLAGE_NAMES = (
    "An Xá",
    "Đông Xá",
    "Thượng Đạt",
    "Hạ Đạt",
    "Mạc Xá",
    "Bình Lãng",
    "Phú Lộc",
    "Vạn Tải",
    "Kim Độ",
    "Lê Xá",
    "Đồng Ngọ",
    "Tân Dân",
    "Trần Xá",
    "Thanh Liễu",
    "Cao Đôi",
    "Ngọc Trì",
    "Phượng Hoàng",
    "Lạc Thượng",
    "Đại Đồng",
    "Hưng Thịnh",
    "Tuy Lạc",
    "Mỹ Xá",
    "Nghĩa Xá",
    "Đông Lý",
    "Kênh Mãn",
    "Hạ Vĩnh",
    "An Đông",
    "Quán Đào",
    "La Xá",
    "Vĩnh Trị",
)
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương")
MIDDLE_MALE = ("Văn", "Đức", "Minh", "Hữu", "Quang", "Xuân")
MIDDLE_FEMALE = ("Thị", "Thu", "Ngọc", "Thanh", "Minh")
GIVEN_MALE = (
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hải",
    "Hùng",
    "Nam",
    "Quang",
    "Sơn",
    "Tuấn",
    "Thắng",
    "Long",
    "Phúc",
    "Toàn",
    "Kiên",
)
GIVEN_FEMALE = (
    "Hà",
    "Hoa",
    "Lan",
    "Linh",
    "Mai",
    "Phương",
    "Thảo",
    "Trang",
    "Yến",
    "Hương",
    "Nga",
    "Huyền",
)
ORGANISATIONS = (
    "Đoàn Thanh niên",
    "Hội Phụ nữ",
    "Hội Nông dân",
    "Hội Cựu chiến binh",
    "Công an xã",
    "Trạm Y tế",
    "Trường học",
    "Bưu điện văn hóa xã",
    "Viettel",
    "VNPT",
)
ACTIVITY_TEXT = {
    "Cổng dịch vụ công": "Hướng dẫn nộp hồ sơ trực tuyến trên Cổng dịch vụ công",
    "Hệ thống một cửa điện tử": "Hướng dẫn tra cứu hồ sơ trên Hệ thống một cửa điện tử",
    "Sổ sức khỏe điện tử": "Hướng dẫn cài đặt sổ sức khỏe điện tử",
    "Ứng dụng tiêm chủng": "Hướng dẫn khai báo trên ứng dụng tiêm chủng",
    "Sổ liên lạc điện tử": "Hướng dẫn phụ huynh dùng sổ liên lạc điện tử",
    "Thanh toán không dùng tiền mặt": "Hướng dẫn mở tài khoản và thanh toán không dùng tiền mặt",
    "Bán hàng trên sàn thương mại điện tử": (
        "Hướng dẫn đăng bán nông sản trên sàn thương mại điện tử"
    ),
    "Zalo": "Hướng dẫn tham gia nhóm Zalo của thôn",
}
SERVICE_WEIGHTS = (14, 6, 14, 8, 8, 18, 6, 10)
# The province's decision as the seed cites it; every sample commune of Hải Dương carries it out
# (the demo's choice; the seed's citation is tested from tests/fixtures/seed).
PROVINCE_DECISION = (
    "689/QĐ-UBND",
    dt.date(2022, 3, 21),
    "UBND tỉnh Hải Dương",
    "Về việc thành lập Tổ chỉ đạo triển khai công nghệ số cộng đồng tỉnh Hải Dương",
)
_UNICODE_TO_TCVN3 = {v: k for k, v in TCVN3_TO_UNICODE.items()}


@dataclass(frozen=True)
class Size:
    """How big a commune's workbook is drawn: ranges of the random draws."""

    commune_team: tuple[int, int] = (8, 20)
    village_team: tuple[int, int] = (3, 7)
    trainings: tuple[int, int] = (1, 3)
    participants: tuple[int, int] = (10, 45)
    activity_rows: tuple[int, int] | None = None  # None: `generate`'s activity_rows
    people: tuple[int, int] = (1, 35)  # people guided at one session
    dossiers: tuple[int, int] = (30, 80)  # dossiers received by the commune in a month
    activated: tuple[int, int] = (1, 40)  # e-ID accounts activated in a village in a month
    village_results: tuple[int, int] = (1, 12)  # a village's 4G, fibre, accounts, online dossiers
    commune_group: tuple[int, int] = (40, 200)  # members of the commune team's Zalo group


SAMPLE_SIZE = Size()
# A merged commune since 01/07/2025: 28 to 52 villages and 42,000 to 115,000 people
# (`_real_size_villages`), several hundred members, tens of thousands of people guided and of
# dossiers a year; every single row stays a plausible one (a session of at most 60 people).
REAL_SIZE = Size(
    commune_team=(20, 32),
    village_team=(6, 10),
    trainings=(3, 6),
    participants=(40, 250),
    activity_rows=(1300, 1700),
    people=(5, 60),
    dossiers=(1500, 2600),
    activated=(20, 120),
    village_results=(8, 60),
    commune_group=(800, 3000),
)


@lru_cache(maxsize=1)
def post_merger_communes() -> tuple[Commune, ...]:
    """The sample's merged units of real size, as the 2025 tree has them."""
    return tuple(find_commune(POST_MERGER_YEAR, code) for code in POST_MERGER)


def size_of(commune: Commune) -> Size:
    made_up = len(commune.code) == 6 and commune.code.startswith(MERGED_SYNTHETIC)
    merged = made_up or commune in post_merger_communes()
    return REAL_SIZE if merged else SAMPLE_SIZE


def _levels(commune: Commune) -> tuple[str, str]:
    """The "Cấp tổ" words the commune writes: the contract's ("Xã", "Thôn"), or a merged
    phường's own ("Phường", "Tổ dân phố"), as the template offers them."""
    if size_of(commune) is REAL_SIZE and commune.kind == "Phường":
        return "Phường", "Tổ dân phố"
    return "Xã", "Thôn"


@dataclass
class SheetRows:
    sheet: contract.Sheet
    rows: list[dict[str, object]] = field(default_factory=list)


@dataclass
class Planted:
    sheet: str
    row_index: int
    column: str
    kind: str
    raw: object
    expected: object


def encode_tcvn3(text: str) -> str | None:
    """The text as a TCVN3 file shows it, or None when .VnTime cannot set it (upper-case marks)."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch.isascii():
            out.append(ch)
        elif ch in _UNICODE_TO_TCVN3:
            out.append(_UNICODE_TO_TCVN3[ch])
        else:
            return None
    return "".join(out)


_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def encode_cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: letters composed, tone marks combining."""
    clusters: list[list[str]] = []  # [letter with its other marks, its tone marks]
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch) and clusters:
            clusters[-1][1 if ch in _TONE_MARKS else 0] += ch
        else:
            clusters.append([ch, ""])
    return "".join(unicodedata.normalize("NFC", base) + tones for base, tones in clusters).encode(
        "cp1258"
    )


def _person(rng: random.Random) -> tuple[str, bool]:
    female = rng.random() < 0.45
    middle = rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE)
    given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
    return f"{rng.choice(FAMILY)} {middle} {given}", female


def _phone(rng: random.Random) -> str:
    return "09" + "".join(str(rng.randrange(10)) for _ in range(8))


def _real_size_villages(commune: Commune, rng: random.Random) -> list[tuple[str, int]]:
    """A merged phường's 38 to 52 tổ dân phố, or a merged xã's 28 to 34 thôn (names of the
    sample's villages with a part of the compass, as merged territories name them apart)."""
    if commune.kind == "Phường":
        count = rng.randint(38, 52)
        return [(f"Tổ dân phố số {n}", rng.randint(1300, 2200)) for n in range(1, count + 1)]
    parts = ("", " Đông", " Tây", " Nam", " Bắc")
    names = rng.sample([f"{name}{part}" for name in VILLAGE_NAMES for part in parts], 34)
    return [(name, rng.randint(1500, 2600)) for name in names[: rng.randint(28, 34)]]


def _villages(commune: Commune, rng: random.Random) -> list[tuple[str, int]]:
    if size_of(commune) is REAL_SIZE:
        return _real_size_villages(commune, rng)
    if commune.code == NAM_CHINH:
        return list(NAM_CHINH_VILLAGES)
    if commune.code == TOWN:
        return [(f"Tổ dân phố số {n}", rng.randint(450, 1400)) for n in range(1, TOWN_UNITS + 1)]
    names = rng.sample(VILLAGE_NAMES, rng.randint(3, 8))
    return [(name, rng.randint(450, 2400)) for name in names]


def _member_rows(
    commune: Commune, year: int, villages: list[tuple[str, int]], rng: random.Random
) -> list[dict[str, object]]:
    """Team rosters. The demo's Nam Chính: the seed's counts (20 commune members, 19 village
    members in 4 teams) with made-up people; at least two village leaders over 60 and one
    member without a smartphone, as the seed's section II says (the demo's choice)."""
    size = size_of(commune)
    if commune.code == NAM_CHINH:
        commune_size, village_sizes = 20, [5, 5, 5, 4]
    else:
        commune_size = rng.randint(*size.commune_team)
        village_sizes = [rng.randint(*size.village_team) for _ in villages]
        if len(villages) > 3 and rng.random() < 0.3:
            village_sizes[-1] = 0  # a village without a team, as happens
    if commune.code == NO_COMMUNE_TEAM:
        commune_size = 0
    if commune.code == ONE_TEAM:
        village_sizes = [0] * len(villages)
    rows: list[dict[str, object]] = []
    own, village_level = _levels(commune)
    head = "Tổ trưởng tổ dân phố" if village_level == "Tổ dân phố" else "Trưởng thôn"
    teams = [(own, "", commune_size)] + [
        (village_level, name, count)
        for (name, _), count in zip(villages, village_sizes, strict=True)
    ]
    for level, village, count in teams:
        for i in range(count):
            name, _ = _person(rng)
            leader = i == 0
            if leader and level == village_level:
                # Village heads lead village teams; many are elderly (a limitation in the seed).
                birth_year = (
                    rng.randint(1955, 1963) if rng.random() < 0.5 else rng.randint(1964, 1985)
                )
            else:
                birth_year = rng.randint(1965, 2003)
            if (
                commune.code == NAM_CHINH
                and level == "Thôn"
                and leader
                and village in ("Bịch Đông", "Hoàng Xá")
            ):
                birth_year = 1958 if village == "Bịch Đông" else 1961
            organisation = head if leader and level == village_level else rng.choice(ORGANISATIONS)
            smartphone = rng.random() > (0.18 if year == 2022 else 0.08)
            rows.append(
                {
                    "team_level": level,
                    "village": village,
                    "name": name,
                    "role": "Tổ trưởng" if leader else ("Tổ phó" if i == 1 else "Thành viên"),
                    "birth_year": birth_year,
                    "organisation": organisation,
                    "phone": _phone(rng),
                    "smartphone": "Có" if smartphone else "Không",
                }
            )
    if commune.code == NAM_CHINH and not any(r["smartphone"] == "Không" for r in rows):
        rows[-1]["smartphone"] = "Không"
    return rows


def _training_rows(commune: Commune, year: int, rng: random.Random) -> list[dict[str, object]]:
    district = f"UBND {in_sentence(commune.district_name or commune.province_name)}"
    if commune.code == NAM_CHINH and year == 2022:  # the seed's one online class by the district
        return [  # its date, participants and wording are the demo's (the seed gives none)
            {
                "date": dt.date(2022, 5, 12),
                "mode": "Trực tuyến",
                "organiser": district,
                "participants": 39,
                "topic": "Hướng dẫn sử dụng Cổng dịch vụ công và Hệ thống một cửa điện tử",
            }
        ]
    rows = []
    size = size_of(commune)
    for _ in range(rng.randint(*size.trainings)):
        rows.append(
            {
                "date": dt.date(year, rng.randint(3, 11), rng.randint(1, 28)),
                "mode": rng.choice(contract.TRAINING_MODES),
                "organiser": rng.choice((district, _commune_body(commune), _department(year))),
                "participants": rng.randint(*size.participants),
                "topic": "Kỹ năng số cơ bản cho thành viên Tổ CNSCĐ",
            }
        )
    return sorted(rows, key=lambda r: r["date"])


def _last_month(commune: Commune, year: int) -> int:
    """The last month the commune's log covers (12, or 4 for the commune that stops in April)."""
    return 4 if (commune.code, year) == LOG_TO_APRIL else 12


def _activity_rows(
    year: int,
    villages: list[tuple[str, int]],
    members: list[dict[str, object]],
    rng: random.Random,
    count: int,
    last_month: int = 12,
    size: Size = SAMPLE_SIZE,
) -> list[dict[str, object]]:
    services = list(contract.SERVICES)
    village_names = [v for v, _ in villages]
    days = (dt.date(year, last_month % 12 + 1, 1) - dt.date(year, 1, 1)).days
    days = 365 if last_month == 12 else days
    rows = []
    for _ in range(count):
        day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(days))
        service = rng.choices(services, SERVICE_WEIGHTS)[0]
        member = rng.choice(members)
        village = member["village"] or rng.choice(village_names)
        rows.append(
            {
                "date": day,
                "team_level": member["team_level"],
                "village": village,
                "member": member["name"],
                "activity": ACTIVITY_TEXT[service],
                "pillar": contract.SERVICES[service],
                "service": service,
                "channel": rng.choice(contract.CHANNELS),
                "people": rng.randint(*size.people),
                "notes": "",
            }
        )
    rows.sort(key=lambda r: r["date"])
    return rows


_FIRST_RESULT_KINDS = tuple(contract.RESULT_KINDS)[:4]  # the kinds of the first contract


def _result_rows(
    year: int,
    villages: list[tuple[str, int]],
    rng: random.Random,
    last_month: int = 12,
    size: Size = SAMPLE_SIZE,
) -> list[dict[str, object]]:
    rows = []
    for month in range(1, last_month + 1):
        for village, _ in villages:
            for indicator in _FIRST_RESULT_KINDS:
                if rng.random() < 0.35:
                    rows.append(
                        {
                            "month": f"{month:02d}/{year}",
                            "village": village,
                            "indicator": indicator,
                            "value": rng.randint(*size.village_results),
                        }
                    )
    return rows


def _frame_rows(
    year: int,
    villages: list[tuple[str, int]],
    rng: random.Random,
    last_month: int = 12,
    size: Size = SAMPLE_SIZE,
) -> list[dict[str, object]]:
    """The national frame's results: e-ID accounts activated and all dossiers each month, and
    the levels reached (adults with a level-2 e-ID, people 15+ with a payment account,
    households with fibre) each quarter and at the last month of the log."""
    rows: list[dict[str, object]] = []
    months = [m for m in (3, 6, 9, 12) if m < last_month] + [last_month]
    start = {"vneid": rng.uniform(0.1, 0.3), "account": rng.uniform(0.55, 0.7)}
    start["fibre"] = rng.uniform(0.65, 0.8)
    for month in range(1, last_month + 1):
        rows.append(
            {
                "month": f"{month:02d}/{year}",
                "village": "",
                "indicator": "Hồ sơ thủ tục hành chính tiếp nhận",
                "value": rng.randint(*size.dossiers),
            }
        )
        for village, _ in villages:
            if rng.random() < 0.5:
                rows.append(
                    {
                        "month": f"{month:02d}/{year}",
                        "village": village,
                        "indicator": "Tài khoản định danh điện tử mức 2 được kích hoạt",
                        "value": rng.randint(*size.activated),
                    }
                )
    for month in months:
        for village, population in villages:
            growth = month / 12
            for kind, share, base in (
                ("Người trưởng thành có tài khoản định danh điện tử mức 2", "vneid", 0.72),
                ("Người từ 15 tuổi có tài khoản thanh toán", "account", 0.78),
                ("Hộ gia đình có Internet cáp quang", "fibre", 0.23),
            ):
                level = min(0.97, start[share] + growth * rng.uniform(0.1, 0.4))
                rows.append(
                    {
                        "month": f"{month:02d}/{year}",
                        "village": village,
                        "indicator": kind,
                        "value": int(population * base * level),
                    }
                )
    return rows


def _zalo_rows(
    commune: Commune, villages: list[tuple[str, int]], year: int, rng: random.Random
) -> list[dict[str, object]]:
    own, village_level = _levels(commune)
    rows = [
        {
            "group_name": f"Tổ CNSCĐ {commune.name}",
            "team_level": own,
            "village": "",
            "group_members": rng.randint(*size_of(commune).commune_group),
            "created": dt.date(2022, 5, 3),
            "contact": "Có",  # every group has its contact member, as the seed says
        }
    ]
    if commune.code == NO_COMMUNE_TEAM:
        rows = []
    if commune.code == ONE_TEAM:
        return rows
    for village, population in villages:
        rows.append(
            {
                "group_name": f"CNSCĐ {village}"
                if commune.code == TOWN or prefix_kind(village)
                else f"CNSCĐ thôn {village}",
                "team_level": village_level,
                "village": village,
                "group_members": rng.randint(population // 20, population // 5),
                "created": dt.date(2022, rng.randint(5, 8), rng.randint(1, 28)),
                "contact": "Có",
            }
        )
    return rows


def _commune_body(commune: Commune) -> str:
    """'UBND xã Nam Chính', as documents name the issuing body."""
    return f"UBND {in_sentence(commune.name)}"


def _department(year: int) -> str:
    """The province's department for digital transformation: Thông tin và Truyền thông until
    it merged into Khoa học và Công nghệ on 01/03/2025."""
    return "Sở Khoa học và Công nghệ" if year >= 2025 else "Sở Thông tin và Truyền thông"


def _kept_in_life(commune: Commune, day: dt.date) -> dt.date:
    """A day of the commune's life: a commune formed during the year acts from its first day."""
    start = pd.Timestamp(commune.valid_from).date() if commune.valid_from else day
    return max(day, start)


def _decision_rows(commune: Commune, year: int, rng: random.Random) -> list[dict[str, object]]:
    if year == 2022:
        number, date = (  # the demo's Nam Chính: the seed's decision 40/QĐ-UBND of 25/4/2022
            (40, dt.date(2022, 4, 25))
            if commune.code == NAM_CHINH
            else (rng.randint(20, 90), dt.date(2022, 4, rng.randint(1, 28)))
        )
        number_p, date_p, issuer_p, subject_p = PROVINCE_DECISION
        if commune.province_code != "30":  # the seed's decision is Hải Dương's
            province = in_sentence(commune.province_name)
            issuer_p = f"UBND {province}"
            subject_p = f"Về việc thành lập Tổ chỉ đạo triển khai công nghệ số cộng đồng {province}"
        return [
            {
                "number": number_p,
                "doc_kind": "Quyết định",
                "date": date_p,
                "issuer": issuer_p,
                "subject": subject_p,
            },
            {
                "number": f"{number}/QĐ-UBND",
                "doc_kind": "Quyết định",
                "date": date,
                "issuer": _commune_body(commune),
                "subject": "Thành lập Tổ chỉ đạo, tổ công nghệ số cộng đồng "
                + ("tổ dân phố" if commune.code == TOWN else "thôn"),
            },
        ]
    return [
        {
            "number": f"{rng.randint(10, 80)}/QĐ-UBND",
            "doc_kind": "Quyết định",
            "date": _kept_in_life(commune, dt.date(year, rng.randint(2, 6), rng.randint(1, 28))),
            "issuer": _commune_body(commune),
            "subject": "Kiện toàn Tổ công nghệ số cộng đồng",
        }
    ]


def villages_of(commune: Commune, seed: int) -> list[tuple[str, int]]:
    """The commune's villages and their population, the same every year for one seed."""
    return _villages(commune, random.Random(f"{seed}-{commune.code}"))


def commune_sheets(
    commune: Commune,
    year: int,
    seed: int,
    activity_rows: tuple[int, int] = (300, 600),
    villages: list[tuple[str, int]] | None = None,
    period: tuple[dt.date, dt.date] | None = None,
) -> dict[str, SheetRows]:
    """The clean content of one commune's workbook, before any mess is planted.

    `villages` replaces the commune's own (a merged commune holds its predecessors'); `period`
    keeps the dated rows of those days only (a predecessor's months before a merger)."""
    rng = random.Random(f"{seed}-{commune.code}")  # villages and people persist across years
    own = _villages(commune, rng)
    villages = villages or own
    year_rng = random.Random(f"{seed}-{commune.code}-{year}")
    size = size_of(commune)
    activity_rows = size.activity_rows or activity_rows
    members = _member_rows(commune, year, villages, year_rng)
    # The demo's Nam Chính is signed by the seed's signer; its report number and day are made up
    # (the seed's report has "Số:   /BC-UBND", "ngày   tháng 3 năm 2023"), as is its area.
    signer = "Trần Văn Xuyến" if commune.code == NAM_CHINH else _person(rng)[0]
    info = [
        {
            "commune_code": commune.code,
            "commune_name": commune.name,
            "district_name": commune.district_name,
            "province_name": commune.province_name,
            "signer": signer,
            "signer_title": "Chủ tịch",
            "report_number": 5 if commune.code == NAM_CHINH else year_rng.randint(2, 30),
            "report_date": dt.date(year + 1, 3, 5)
            if commune.code == NAM_CHINH
            else dt.date(year + 1, year_rng.randint(1, 3), year_rng.randint(1, 28)),
            "area_km2": 4.28 if commune.code == NAM_CHINH else round(year_rng.uniform(3.5, 12), 2),
        }
    ]
    village_rows = [
        {
            "village": name,
            "households": population // 4 + year_rng.randint(-20, 20),
            "population": population + (year - 2022) * year_rng.randint(0, 30),
        }
        for name, population in villages
    ]
    # The national frame's denominators and results: drawn apart, so that the rest of the
    # workbook (and the demo's Nam Chính) stays as it was.
    frame_rng = random.Random(f"{seed}-{commune.code}-{year}-frame")
    for row in village_rows:
        population = int(row["population"])  # type: ignore[call-overload]
        row["village_kind"] = "Tổ dân phố" if commune.code == TOWN else ""
        if size is REAL_SIZE:  # a merged commune's list says each unit's kind
            row["village_kind"] = _levels(commune)[1] if commune.kind == "Phường" else "Thôn"
        row["adults"] = int(population * frame_rng.uniform(0.68, 0.76))
        row["people_15"] = int(population * frame_rng.uniform(0.75, 0.8))
    last_month = _last_month(commune, year)
    sheets = {
        "commune": SheetRows(contract.COMMUNE, info),
        "villages": SheetRows(contract.VILLAGES, village_rows),
        "members": SheetRows(contract.MEMBERS, members),
        "trainings": SheetRows(contract.TRAININGS, _training_rows(commune, year, year_rng)),
        "activities": SheetRows(
            contract.ACTIVITIES,
            _activity_rows(
                year,
                villages,
                members,
                year_rng,
                year_rng.randint(*activity_rows),
                last_month,
                size,
            ),
        ),
        "results": SheetRows(
            contract.RESULTS,
            _result_rows(year, villages, year_rng, last_month, size)
            + _frame_rows(year, villages, frame_rng, last_month, size),
        ),
        "zalo": SheetRows(contract.ZALO, _zalo_rows(commune, villages, year, year_rng)),
        "decisions": SheetRows(contract.DECISIONS, _decision_rows(commune, year, year_rng)),
    }
    if period is not None:
        first, last = period
        for key in ("trainings", "activities", "decisions"):
            sheets[key].rows = [r for r in sheets[key].rows if first <= r["date"] <= last]
        sheets["results"].rows = [
            r for r in sheets["results"].rows if first.month <= int(r["month"][:2]) <= last.month
        ]
    return sheets


def _typo(name: str, rng: random.Random) -> str:
    """A village name as typed in a hurry: no diacritics, lower case, or 'thôn' in front."""
    choice = rng.randrange(3)
    if choice == 0:
        return strip_diacritics(name)
    if choice == 1:
        return "thôn " + name.lower()
    return "Thon " + strip_diacritics(name)


def plant_mess(
    sheets: dict[str, SheetRows], year: int, rng: random.Random, rate: float = MESS_RATE
) -> list[Planted]:
    """Change the sheets in place the way real files are messy; return what was planted."""
    planted: list[Planted] = []
    activities = sheets["activities"].rows
    kept: list[dict[str, object]] = []
    for row in activities:
        row = dict(row)
        roll = rng.random
        if roll() < rate:
            encoded = encode_tcvn3(str(row["activity"]))
            if encoded is not None and encoded != row["activity"]:
                planted.append(
                    Planted("activities", len(kept), "activity", "tcvn3", encoded, row["activity"])
                )
                row["activity"] = encoded
        if roll() < rate:
            nfd = unicodedata.normalize("NFD", str(row["service"]))
            if nfd != row["service"]:
                planted.append(
                    Planted("activities", len(kept), "service", "nfd", nfd, row["service"])
                )
                row["service"] = nfd
        if roll() < rate and row["village"]:
            typo = _typo(str(row["village"]), rng)
            planted.append(
                Planted("activities", len(kept), "village", "village_typo", typo, row["village"])
            )
            row["village"] = typo
        date = row["date"]
        assert isinstance(date, dt.date)
        if roll() < rate:
            text = date.strftime("%d/%m/%Y") if roll() < 0.7 else date.isoformat()
            planted.append(
                Planted("activities", len(kept), "date", "date_text", text, date.isoformat())
            )
            row["date"] = text
        elif roll() < rate:
            serial = (date - dt.date(1899, 12, 30)).days
            planted.append(
                Planted("activities", len(kept), "date", "date_serial", serial, date.isoformat())
            )
            row["date"] = serial
        elif roll() < rate / 2:
            outside = date.replace(year=year - 1 if roll() < 0.5 else year + 1)
            planted.append(
                Planted(
                    "activities",
                    len(kept),
                    "date",
                    "date_outside_year",
                    outside.isoformat(),
                    "rejected",
                )
            )
            row["date"] = outside
        if roll() < rate / 2:
            bad = -int(row["people"]) if roll() < 0.5 else 99_999
            planted.append(
                Planted("activities", len(kept), "people", "impossible_count", bad, "rejected")
            )
            row["people"] = bad
        kept.append(row)
        if roll() < rate / 2:
            original, copy = len(kept) - 1, len(kept)
            # The copy carries the original's mess too: record it, so the truth is complete.
            inherited = [p for p in planted if p.sheet == "activities" and p.row_index == original]
            planted += [
                Planted(p.sheet, copy, p.column, p.kind, p.raw, p.expected) for p in inherited
            ]
            planted.append(Planted("activities", copy, "", "duplicate_row", "", "rejected"))
            kept.append(dict(row))
        if roll() < rate / 3:
            planted.append(Planted("activities", len(kept), "", "blank_row", "", "rejected"))
            kept.append({})
    sheets["activities"].rows = kept

    for index, row in enumerate(sheets["members"].rows):
        forms = (
            ("Có", "x", "1", "có", "yes")
            if row["smartphone"] == "Có"
            else ("Không", "không", "0", "ko")
        )
        if rng.random() < rate * 10:
            written = rng.choice(forms)
            if written != row["smartphone"]:
                planted.append(
                    Planted(
                        "members", index, "smartphone", "yesno_variant", written, row["smartphone"]
                    )
                )
                row["smartphone"] = written
        if rng.random() < rate * 5:
            encoded = encode_tcvn3(str(row["name"]))
            if encoded is not None and encoded != row["name"]:
                planted.append(Planted("members", index, "name", "tcvn3", encoded, row["name"]))
                row["name"] = encoded
    return planted


def write_workbook(sheets: dict[str, SheetRows], path: Path) -> None:
    """Write the sheets as an analyst's workbook: Vietnamese headers, dates shown dd/mm/yyyy."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet_rows in sheets.values():
        worksheet = workbook.create_sheet(sheet_rows.sheet.name)
        worksheet.append([c.header for c in sheet_rows.sheet.columns])
        for row in sheet_rows.rows:
            worksheet.append(
                [row.get(c.key) if row.get(c.key) != "" else None for c in sheet_rows.sheet.columns]
            )
        for column_index, column in enumerate(sheet_rows.sheet.columns, start=1):
            if column.kind == "date":
                for cell in worksheet.iter_rows(
                    min_row=2, min_col=column_index, max_col=column_index
                ):
                    if isinstance(cell[0].value, dt.date):
                        cell[0].number_format = "dd/mm/yyyy"
        worksheet.freeze_panes = "A2"
    fixed = dt.datetime(2000, 1, 1)
    workbook.properties.created = workbook.properties.modified = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)
    write_atomically(path, lambda tmp: tmp.write_bytes(_fixed_zip_times(buffer.getvalue())))


def _fixed_zip_times(data: bytes) -> bytes:
    """The same workbook with fixed entry times and document date (openpyxl stamps both)."""

    def undated(name: str, content: bytes) -> bytes:
        if name != "docProps/core.xml":
            return content
        return re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", content)

    return fixed_zip(data, undated)


def _synthetic_communes(count: int, merged: bool = False) -> list[Commune]:
    """Communes beyond the sample district, for benchmarks: 20 to a district, made-up names; or,
    `merged`, communes of a province after 01/07/2025 (no district), each of `REAL_SIZE`."""
    if merged:
        return [
            Commune(
                code=f"{MERGED_SYNTHETIC}{i:05d}",
                name=f"{'Phường' if i % 4 == 0 else 'Xã'} Gộp {i:05d}",
                district_code="",
                district_name="",
                province_code="99",
                province_name="Tỉnh Mẫu",
            )
            for i in range(count)
        ]
    communes = []
    for i in range(count):
        district = i // 20
        communes.append(
            Commune(
                code=f"9{i:05d}",
                name=f"Xã Mẫu {i:05d}",
                district_code=f"9{district:03d}",
                district_name=f"Huyện Mẫu {district:03d}",
                province_code="99",
                province_name="Tỉnh Mẫu",
            )
        )
    return communes


SAMPLE_DISTRICT = "291"  # Huyện Nam Sách, Tỉnh Hải Dương (the seed report's district)


def sample_communes(year: int) -> list[Commune]:
    """The sample district's communes in the year's tree."""
    return list(find_district(year, SAMPLE_DISTRICT).communes)


def sample_commune(year: int, wanted: str) -> Commune:
    """One of them by slug, code or name ('nam-chinh' is also a commune of Thái Bình)."""
    return find_commune(year, wanted, within=sample_communes(year))


Spec = tuple[Commune, list[tuple[str, int]] | None, tuple[dt.date, dt.date] | None]


def territory_villages(commune: Commune, seed: int) -> list[tuple[str, int]]:
    """The villages of a commune formed by mergers: its predecessors', followed back."""
    earlier = predecessors(commune)
    if not earlier:
        return villages_of(commune, seed)
    found: dict[str, int] = {}
    for change in earlier:
        for name, population in territory_villages(change.other, seed):
            found.setdefault(name, population)
    return list(found.items())


def reform_workbooks(year: int, seed: int) -> list[Spec]:
    """The workbooks of a year after the seed's commune changed: Trần Phú, formed on 01/12/2024
    from Nam Chính and Nam Trung, and again on 01/07/2025 with Hiệp Cát and Quốc Tuấn. Each
    successor's workbook lists its whole territory's villages; each predecessor's holds its
    months before the change (one that kept the successor's code and name writes them in the
    successor's own workbook)."""
    successor = find_commune(year, TRAN_PHU)
    changes = changes_during(successor, year)
    kept_its_name = any(c.other.stem == successor.stem for c in changes)
    own_period = None
    if changes and not kept_its_name:  # a new commune: its own book starts with it
        own_period = (pd.Timestamp(changes[0].date).date(), dt.date(year, 12, 31))
    specs: list[Spec] = [(successor, territory_villages(successor, seed), own_period)]
    for change in changes:
        unit = change.other
        if unit.stem != successor.stem:
            last = pd.Timestamp(change.date).date() - dt.timedelta(days=1)
            specs.append((unit, territory_villages(unit, seed), (dt.date(year, 1, 1), last)))
    if year == REFORM_YEARS[0]:  # next year's predecessors need this year's reports
        nxt = find_commune(REFORM_YEARS[1], TRAN_PHU)
        for change in changes_during(nxt, REFORM_YEARS[1]):
            if change.other.code != successor.code:
                specs.append((change.other, territory_villages(change.other, seed), None))
    return specs


def workbook_name(commune: Commune) -> str:
    """`10627-nam-chinh.xlsx`: a slug alone is shared by communes elsewhere in the country."""
    return f"{commune.stem}.xlsx"


def generate(
    raw_dir: Path,
    years: tuple[int, ...] = YEARS,
    seed: int = 2022,
    communes: int | None = None,
    rate: float = MESS_RATE,
    activity_rows: tuple[int, int] = (300, 600),
    only: tuple[str, ...] = (),
    units: list[Commune] | None = None,
    merged: bool = False,
) -> list[Path]:
    """Write the sample district's workbooks (or `communes` synthetic ones, or made-up data for
    the registry's `units`) for the years.

    Returns the workbooks written. `only` limits the sample district to some commune slugs;
    `merged` makes the `communes` synthetic ones merged communes of real size (`REAL_SIZE`).
    """
    written: list[Path] = []
    for year in years:
        specs: list[Spec]
        if units is not None:
            specs = [(c, None, None) for c in units]
        elif communes is None and year in REFORM_YEARS:
            specs = reform_workbooks(year, seed)
            if year == POST_MERGER_YEAR:  # and merged units of real size, their whole year
                specs += [(c, None, None) for c in post_merger_communes()]
        elif communes is None:
            specs = [(c, None, None) for c in sample_communes(year) if not only or c.slug in only]
        else:
            specs = [(c, None, None) for c in _synthetic_communes(communes, merged)]
            _write_registry(raw_dir / EXTRA_REGISTRY_NAME, [c for c, _, _ in specs])
        planted_rows: list[dict[str, object]] = []
        for commune, villages, period in specs:
            sheets = commune_sheets(commune, year, seed, activity_rows, villages, period)
            planted = plant_mess(
                sheets, year, random.Random(f"{seed}-{commune.code}-{year}-m"), rate
            )
            path = raw_dir / str(year) / workbook_name(commune)
            write_workbook(sheets, path)
            written.append(path)
            for p in planted:
                planted_rows.append(
                    {
                        "commune_code": commune.code,
                        "year": year,
                        "file": path.name,
                        "sheet": sheets[p.sheet].sheet.name,
                        "excel_row": p.row_index + 2,
                        "column": sheets[p.sheet].sheet.column(p.column).header if p.column else "",
                        "kind": p.kind,
                        "raw": p.raw,
                        "expected": p.expected,
                    }
                )
        with open(raw_dir / str(year) / PLANTED_FILE, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, PLANTED_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(planted_rows)
    return written


def _write_registry(path: Path, communes: list[Commune]) -> None:
    """A user's own units file (`data/raw/communes.csv`), as the README describes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(EXTRA_COLUMNS)
        for c in communes:
            row = (c.code, c.name, c.district_code, c.district_name, c.province_code)
            writer.writerow((*row, c.province_name, c.valid_from, c.valid_to))


# How each planted kind shows in the cleaner's logs: a fix of that kind, or a rejection.
DETECTED_AS = {
    "tcvn3": ("fix", "tcvn3"),
    "nfd": ("fix", "nfc"),
    "date_text": ("fix", "date_text"),
    "date_serial": ("fix", "date_serial"),
    "village_typo": ("fix", "village_match"),
    "yesno_variant": ("fix", "yesno_variant"),
    "duplicate_row": ("reject", "duplicate_row"),
    "blank_row": ("reject", "blank_row"),
    "date_outside_year": ("reject", "date_outside_year"),
    "impossible_count": ("reject", "impossible_count"),
}


def score_cleaning(
    planted: pd.DataFrame, fixes: pd.DataFrame, rejected: pd.DataFrame
) -> pd.DataFrame:
    """Recall and precision of the cleaner, per planted kind, against the ground truth.

    A planted rejection also counts as found when its row was rejected for another reason that
    was planted on the same row (a duplicated row that also has an impossible count, say);
    precision counts only detections at rows where that very kind was planted.
    """
    key = ["commune_code", "file", "sheet", "excel_row"]
    planted = planted.astype({"excel_row": "int64", "commune_code": str})
    rejected_rows = rejected.astype({"commune_code": str})
    planted_rejects = planted[planted["kind"].map(lambda k: DETECTED_AS[k][0] == "reject")]
    rows = []
    for kind, (how, code) in DETECTED_AS.items():
        truth = planted[planted["kind"] == kind][key].drop_duplicates()
        if how == "fix":
            found = fixes[fixes["kind"] == code][key].drop_duplicates()
            hits = truth.merge(found, on=key)
            true_found = len(hits)
        else:
            found = rejected_rows[rejected_rows["reason_code"] == code][key].drop_duplicates()
            rejected_any = rejected_rows[key].drop_duplicates()
            hits = truth.merge(
                rejected_any.merge(planted_rejects[key].drop_duplicates(), on=key), on=key
            )
            true_found = len(found.merge(truth, on=key))
        rows.append(
            {
                "kind": kind,
                "planted": len(truth),
                "detected": len(found),
                "recall": len(hits) / len(truth) if len(truth) else float("nan"),
                "precision": true_found / len(found) if len(found) else float("nan"),
            }
        )
    return pd.DataFrame(rows)
