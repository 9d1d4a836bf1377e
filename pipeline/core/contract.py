"""The data contract: the sheets an analyst fills, their columns, and the words allowed in them.

Each column has a canonical key used inside the pipeline, the header written by `cnscd sample`
and `cnscd template`, and the other ways officers write that header.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.core.config import PACKAGE_DIR

if TYPE_CHECKING:
    import pandas as pd

# The reason code of a wholly blank row (a template's pre-formatted rows, a line left empty): it
# is logged with the rejected rows, but it holds no figure, so it is neither a row read nor a row
# rejected in any count or summary of reasons.
BLANK_ROW = "blank_row"


def rows_rejected(rejected: pd.DataFrame) -> pd.DataFrame:
    """The rows of a `rejected` table that count as rejected: a wholly blank row is dropped
    but is not a rejected row (the quality summary, the annex and the notebook agree)."""
    return rejected[rejected["reason_code"] != BLANK_ROW]


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"  # text | int | float | date | yesno | month
    required: bool = True
    synonyms: tuple[str, ...] = ()
    personal: bool = False  # read where the sheet has it, never kept: no report needs it
    # The values a number may take; outside, a required cell's row is refused, an optional cell
    # blanked, each with its reason. Counts' upper limits are in schemas.COUNT_LIMITS.
    valid_range: tuple[float, float] | None = None
    # For a year of birth: the ages (youngest, oldest) it may give in the report's year.
    valid_ages: tuple[int, int] | None = None

    def bounds(self, year: int) -> tuple[float, float] | None:
        """The values a number may take in a report of `year`."""
        if self.valid_ages is not None:
            youngest, oldest = self.valid_ages
            return (year - oldest, year - youngest)
        return self.valid_range


@dataclass(frozen=True)
class Sheet:
    key: str
    name: str
    columns: tuple[Column, ...]
    required: bool = True
    synonyms: tuple[str, ...] = field(default=())

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


COMMUNE = Sheet(
    "commune",
    "Thông tin xã",
    (
        Column("commune_code", "Mã xã", synonyms=("Mã đơn vị", "Mã ĐVHC")),
        Column("commune_name", "Tên xã", synonyms=("Đơn vị", "Xã")),
        Column("district_name", "Huyện", required=False),
        Column("province_name", "Tỉnh", required=False),
        Column("signer", "Người ký", synonyms=("Người ký báo cáo", "Chủ tịch")),
        Column("signer_title", "Chức vụ người ký", required=False, synonyms=("Chức vụ",)),
        Column("report_number", "Số báo cáo", "int", required=False),
        Column("report_date", "Ngày báo cáo", "date", required=False),
        Column("area_km2", "Diện tích (km²)", "float", required=False, synonyms=("Diện tích",)),
        # Denominators of the national targets, for a commune that knows them only as totals
        # (the Thôn sheet's, where given, come first).
        *(
            Column(key, header, "int", required=False, synonyms=synonyms)
            for key, header, synonyms in (
                ("population", "Số dân", ("Dân số", "Tổng số dân", "Số nhân khẩu")),
                ("households", "Số hộ", ("Tổng số hộ",)),
                ("adults", "Số người trưởng thành", ("Số người từ 18 tuổi", "Dân số từ 18 tuổi")),
                ("people_15", "Số người từ 15 tuổi", ("Dân số từ 15 tuổi",)),
            )
        ),
    ),
    synonyms=("Thông tin chung", "Xã"),
)

VILLAGES = Sheet(
    "villages",
    "Thôn",
    (
        Column("village", "Tên thôn", synonyms=("Thôn", "Thôn/khu dân cư", "Khu dân cư")),
        Column("households", "Số hộ", "int", required=False),
        Column("population", "Số dân", "int", required=False, synonyms=("Số nhân khẩu", "Dân số")),
        # The unit's kind: thôn, bản, ấp, tổ dân phố, khu phố… (else read from the name's prefix,
        # else the commune's kind decides: see pipeline/registry/units.py).
        Column(
            "village_kind",
            "Loại",
            required=False,
            synonyms=("Loại thôn", "Loại đơn vị", "Thôn/Tổ dân phố", "Thôn/TDP"),
        ),
        Column(
            "adults",
            "Số người trưởng thành",
            "int",
            required=False,
            synonyms=("Số người từ 18 tuổi", "Dân số từ 18 tuổi"),
        ),
        Column("people_15", "Số người từ 15 tuổi", "int", required=False),
    ),
    synonyms=("Danh sách thôn",),
)

# The members' ages, from the package's settings ([members]): the ages a year of birth may give
# in the report's year (the bounds follow the year: 1917–2012 for 2022, 1925–2020 for 2030), and
# the age from which a team leader counts among the aged leaders.
_MEMBER_SETTINGS = tomllib.loads((PACKAGE_DIR / "settings.toml").read_text("utf-8"))["members"]
MEMBER_AGES: tuple[int, int] = tuple(_MEMBER_SETTINGS["ages"])
AGED_FROM: int = _MEMBER_SETTINGS["aged_from"]

MEMBERS = Sheet(
    "members",
    "Thành viên",
    (
        Column("team_level", "Cấp tổ", synonyms=("Cấp", "Tổ")),
        Column("village", "Thôn", required=False),
        Column("name", "Họ và tên", synonyms=("Họ tên", "Tên thành viên")),
        Column("role", "Chức danh trong tổ", synonyms=("Chức danh", "Vai trò", "Nhiệm vụ")),
        # A member younger or older than MEMBER_AGES in the report's year is a typing error.
        Column("birth_year", "Năm sinh", "int", required=False, valid_ages=MEMBER_AGES),
        Column("organisation", "Đơn vị công tác", required=False, synonyms=("Đơn vị", "Tổ chức")),
        Column(
            "phone",
            "Số điện thoại",
            required=False,
            synonyms=("Điện thoại", "SĐT"),
            personal=True,
        ),
        Column(
            "smartphone",
            "Có điện thoại thông minh",
            "yesno",
            required=False,
            synonyms=("Điện thoại thông minh", "Smartphone"),
        ),
    ),
    synonyms=("Danh sách thành viên", "Thành viên tổ"),
)

TRAININGS = Sheet(
    "trainings",
    "Tập huấn",
    (
        # A class written in the year's book without its day is the year's (the seed's is).
        Column("date", "Ngày", "date", required=False, synonyms=("Ngày tập huấn", "Thời gian")),
        Column("mode", "Hình thức", synonyms=("Hình thức tập huấn",)),
        Column("organiser", "Đơn vị tổ chức", required=False, synonyms=("Cơ quan tổ chức",)),
        Column(
            "participants",
            "Số người tham gia",
            "int",
            required=False,
            synonyms=("Số người tham dự", "Số học viên"),
        ),
        Column("topic", "Nội dung", required=False),
    ),
    required=False,
    synonyms=("Đào tạo, tập huấn",),
)

ACTIVITIES = Sheet(
    "activities",
    "Nhật ký hoạt động",
    (
        Column("date", "Ngày", "date", synonyms=("Ngày thực hiện", "Thời gian")),
        Column("team_level", "Cấp tổ", synonyms=("Cấp", "Tổ")),
        Column("village", "Thôn", required=False),
        Column("member", "Thành viên thực hiện", required=False, synonyms=("Người thực hiện",)),
        Column("activity", "Hoạt động", required=False, synonyms=("Nội dung hoạt động",)),
        Column("pillar", "Trụ cột", synonyms=("Lĩnh vực",)),
        Column("service", "Dịch vụ/nền tảng", synonyms=("Dịch vụ", "Nền tảng", "Ứng dụng")),
        Column("channel", "Hình thức hỗ trợ", required=False, synonyms=("Kênh", "Hình thức")),
        Column(
            "people",
            "Số người được hướng dẫn",
            "int",
            synonyms=("Số người", "Số lượt người", "Số người dân được hướng dẫn"),
        ),
        Column("notes", "Ghi chú", required=False),
    ),
    synonyms=("Nhật ký", "Hoạt động"),
)

RESULTS = Sheet(
    "results",
    "Kết quả",
    (
        Column("month", "Tháng", "month"),
        Column("village", "Thôn", required=False),
        Column("indicator", "Chỉ tiêu", synonyms=("Nội dung", "Kết quả")),
        Column("value", "Giá trị", "int", synonyms=("Số lượng",)),
    ),
    required=False,
    synonyms=("Kết quả đạt được",),
)

ZALO = Sheet(
    "zalo",
    "Nhóm Zalo",
    (
        Column("group_name", "Tên nhóm", synonyms=("Nhóm",)),
        Column("team_level", "Cấp tổ", synonyms=("Cấp",)),
        Column("village", "Thôn", required=False),
        Column("group_members", "Số thành viên", "int", required=False),
        Column("created", "Ngày lập", "date", required=False),
        # Whether the group has a contact member ("thành viên đầu mối") who links it with the
        # other groups: the report says the groups are linked only when every group says so.
        Column("contact", "Có thành viên đầu mối", "yesno", required=False),
    ),
    required=False,
    synonyms=("Zalo",),
)

DECISIONS = Sheet(
    "decisions",
    "Văn bản",
    (
        Column("number", "Số hiệu", synonyms=("Số văn bản", "Số, ký hiệu", "Số ký hiệu")),
        Column("doc_kind", "Loại văn bản", required=False, synonyms=("Loại",)),
        Column("date", "Ngày ban hành", "date", synonyms=("Ngày",)),
        Column("issuer", "Cơ quan ban hành", synonyms=("Cơ quan", "Nơi ban hành")),
        Column("subject", "Trích yếu", synonyms=("Nội dung", "Trích yếu nội dung")),
    ),
    required=False,
    synonyms=("Văn bản chỉ đạo", "Quyết định"),
)

SHEETS: tuple[Sheet, ...] = (
    COMMUNE,
    VILLAGES,
    MEMBERS,
    TRAININGS,
    ACTIVITIES,
    RESULTS,
    ZALO,
    DECISIONS,
)
SHEETS_BY_KEY: dict[str, Sheet] = {s.key: s for s in SHEETS}

# Controlled vocabularies: canonical value -> the pillar it belongs to, or other facts.
PILLARS = ("Chính quyền số", "Kinh tế số", "Xã hội số")
SERVICES: dict[str, str] = {
    "Cổng dịch vụ công": "Chính quyền số",
    "Hệ thống một cửa điện tử": "Chính quyền số",
    "Sổ sức khỏe điện tử": "Xã hội số",
    "Ứng dụng tiêm chủng": "Xã hội số",
    "Sổ liên lạc điện tử": "Xã hội số",
    "Thanh toán không dùng tiền mặt": "Kinh tế số",
    "Bán hàng trên sàn thương mại điện tử": "Kinh tế số",
    "Zalo": "Xã hội số",
}
CHANNELS = ("Trực tiếp", "Nhóm Zalo", "Họp thôn", "Điện thoại")
TEAM_LEVELS = ("Xã", "Thôn")
ROLES = ("Tổ trưởng", "Tổ phó", "Thành viên")
TRAINING_MODES = ("Trực tuyến", "Trực tiếp")
# Results the teams helped achieve in a month (summed over the year)…
RESULT_KINDS: dict[str, str] = {
    "Thuê bao Internet cáp quang đăng ký mới": "new_internet",
    "Thuê bao nâng cấp 4G": "upgrades_4g",
    "Tài khoản thanh toán không dùng tiền mặt mở mới": "cashless_accounts",
    "Hồ sơ dịch vụ công trực tuyến": "online_dossiers",
    "Tài khoản định danh điện tử mức 2 được kích hoạt": "vneid_activated",
    "Hồ sơ thủ tục hành chính tiếp nhận": "all_dossiers",
}
# …and levels reached at the end of a month (the year's figure is the last month's, summed over
# the villages): the numerators of the national targets' shares.
STOCK_RESULT_KINDS: dict[str, str] = {
    "Người trưởng thành có tài khoản định danh điện tử mức 2": "adults_with_vneid",
    "Người từ 15 tuổi có tài khoản thanh toán": "people_15_with_account",
    "Hộ gia đình có Internet cáp quang": "fibre_households",
}
ALL_RESULT_KINDS: dict[str, str] = {**RESULT_KINDS, **STOCK_RESULT_KINDS}


@dataclass(frozen=True)
class Bound:
    """How large one figure can be for the commune it belongs to: `multiple` × the commune's
    `base` (population, adults, people_15 or households: the villages' sum, else the commune
    sheet's total). A row above it is rejected with the bound named
    (pipeline/reading/plausibility.py)."""

    base: str
    multiple: float = 1.0
    words: str = ""  # the base as a sentence names it

    @property
    def times(self) -> str:
        """The multiple as a sentence says it before the base: "" for 1, "3 lần " for 3."""
        return "" if self.multiple == 1 else f"{self.multiple:g} lần "


_BASE_WORDS = {
    "population": "dân số",
    "adults": "số người trưởng thành",
    "people_15": "số người từ 15 tuổi",
    "households": "số hộ",
}


def _bound(base: str, multiple: float = 1.0) -> Bound:
    return Bound(base, multiple, _BASE_WORDS[base])


# One place for the bounds, by result kind's code, and for the other figures by sheet and
# column. A level is at most its own base; a flow of the year (a month's row, as the year's sum
# is made of them) at most a multiple of the population; a session or a class at most the
# commune's population. Where the commune's base is not known, POPULATION_CEILING stands in.
BOUNDS: dict[str, Bound] = {
    "adults_with_vneid": _bound("adults"),
    "people_15_with_account": _bound("people_15"),
    "fibre_households": _bound("households"),
    "new_internet": _bound("households"),
    "upgrades_4g": _bound("population"),
    "cashless_accounts": _bound("population"),
    "vneid_activated": _bound("population"),
    "online_dossiers": _bound("population", 3),
    "all_dossiers": _bound("population", 5),
    "activities.people": _bound("population"),
    "trainings.participants": _bound("population"),
}
# The largest commune-level unit of the country is some 300,000 people; above this no commune
# can be, whatever its base.
POPULATION_CEILING = 1_000_000
YES = ("có", "co", "x", "1", "yes", "y", "true", "đúng", "rồi")
NO = ("không", "khong", "ko", "k", "0", "no", "n", "false", "chưa", "-")
