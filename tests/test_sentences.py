"""The catalogue of the report's sentences, each rendered at zero, one, several and a missing input.

Every case renders the real template (`narrative.report_context` + `render_report`) from small
tables and indicator values, and checks the sentence, not only the figure.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from pipeline.measuring.indicators import CATALOGUE, REJECTED
from pipeline.measuring.settings import load_settings
from pipeline.registry.tree import Commune
from pipeline.running.rendering import visible_text
from pipeline.writing.narrative import number, render_report, report_context

NAM_CHINH = Commune("10627", "Xã Nam Chính", "291", "Huyện Nam Sách", "30", "Tỉnh Hải Dương")
TOWN = Commune("10606", "Thị trấn Nam Sách", "291", "Huyện Nam Sách", "30", "Tỉnh Hải Dương")
VILLAGES = ["Bịch Đông", "Bịch Tây", "An Thượng", "Hoàng Xá"]


def _member(level, village="", role="Thành viên", born=1990, smartphone=True):
    return {
        "commune_code": "x",
        "team_level": level,
        "village": village or None,
        "name": "A",
        "role": role,
        "birth_year": born,
        "smartphone": smartphone,
    }


def _tables(
    villages=VILLAGES, kinds=None, members=None, decisions=None, issuer="UBND xã Nam Chính"
) -> dict[str, pd.DataFrame]:
    members = members if members is not None else [_member("Xã")]
    return {
        "commune": pd.DataFrame(
            [
                {
                    "signer": "Trần Văn Xuyến",
                    "signer_title": "Chủ tịch",
                    "report_number": 5,
                    "report_date": pd.Timestamp(2024, 2, 5),
                }
            ]
        ),
        "villages": pd.DataFrame(
            {
                "commune_code": "x",
                "village": villages,
                "village_kind": kinds or [None] * len(villages),
            }
        ),
        "members": pd.DataFrame(members),
        "decisions": pd.DataFrame(
            decisions,
            columns=["number", "doc_kind", "date", "issuer", "subject"],
        )
        if decisions is not None
        else pd.DataFrame(
            [
                {
                    "number": "40/QĐ-UBND",
                    "doc_kind": "Quyết định",
                    "date": pd.Timestamp(2023, 1, 5),
                    "issuer": issuer,
                    "subject": "Kiện toàn Tổ",
                }
            ]
        ),
        "trainings": pd.DataFrame({"organiser": pd.Series([], dtype=object)}),
        "quality": pd.DataFrame(
            columns=["sheet", "rows_read", "rows_kept", "rows_fixed", "rows_rejected"]
        ),
        "rejected": pd.DataFrame(
            {"reason_code": pd.Series([], dtype=object), "reason": pd.Series([], dtype=object)}
        ),
    }


BASE = {
    **{i.code: None for i in CATALOGUE},  # the report is given every code; absent is missing
    "teams_commune": 1.0,
    "members_commune": 12.0,
    "teams_village": 4.0,
    "members_village": 19.0,
    "teams_total": 5.0,
    "villages": 4.0,
    "trainings": 2.0,
    "trainings_online": 1.0,
    "trainings_in_person": 1.0,
    "sessions": 40.0,
    "people_guided": 900.0,
    "people_guided_per_1000": 600.0,
    "log_first_month": 1.0,
    "log_last_month": 12.0,
    "log_months": 12.0,
    "members_total": 31.0,
    "members_without_smartphone": 0.0,
    "members_without_smartphone_commune": 0.0,
    "members_without_smartphone_village": 0.0,
    "village_leaders_aged_60": 0.0,
    "leaders_aged_60_share": 0.0,
    "villages_without_team": 0.0,
    "share_people_chinh_quyen_so": 30.0,
    "share_people_kinh_te_so": 30.0,
    "share_people_xa_hoi_so": 40.0,
    "rows_rejected_share": 1.0,
}


def _render(values: dict, commune: Commune = NAM_CHINH, **tables) -> str:
    context = report_context(
        commune, 2023, _tables(**tables), {**BASE, **values}, load_settings()
    ) | {"footer": ""}
    text = visible_text(render_report(context, {"services": "", "months": ""}))
    text = re.sub(r"\s+", " ", text)
    return text[text.index("I. KẾT QUẢ") : text.index("IV. PHƯƠNG HƯỚNG")]


ONE_SMARTPHONELESS = [_member("Xã"), _member("Thôn", "Bịch Tây", smartphone=False)]
MANY_SMARTPHONELESS = [
    _member("Xã", smartphone=False),
    _member("Xã", smartphone=False),
    _member("Thôn", "Bịch Tây", smartphone=False),
    _member("Thôn", "Hoàng Xá", smartphone=False),
]
TEAMS_IN_TWO = [_member("Xã"), _member("Thôn", "Bịch Đông"), _member("Thôn", "Bịch Tây")]

# (case, indicator values, tables, sentences expected, text that must not appear)
CASES = [
    # -- 1. Thông tin chung: the teams -----------------------------------------------------------
    (
        "teams: many",
        {},
        {},
        [
            "Xã Nam Chính hiện có 01 Tổ công nghệ số cộng đồng (CNSCĐ) cấp xã với 12 thành viên, "
            "04 Tổ CNSCĐ cấp thôn với 19 thành viên trên tổng số 04 thôn."
        ],
        [],
    ),
    (
        "teams: no commune-level team",
        {"teams_commune": 0.0, "members_commune": 0.0, "teams_total": 4.0},
        {},
        [
            "Xã Nam Chính chưa thành lập Tổ công nghệ số cộng đồng (CNSCĐ) cấp xã; hiện có 04 Tổ "
            "CNSCĐ cấp thôn với 19 thành viên trên tổng số 04 thôn."
        ],
        ["00 Tổ", "00 thành viên"],
    ),
    (
        "teams: one team, no village team",
        {"teams_village": 0.0, "members_village": 0.0, "teams_total": 1.0},
        {},
        [
            "hiện có 01 Tổ công nghệ số cộng đồng (CNSCĐ) cấp xã với 12 thành viên; chưa thành "
            "lập Tổ CNSCĐ cấp thôn.",
            "Tổ CNSCĐ đã thực hiện 40 lượt hướng dẫn",
        ],
        ["Các Tổ CNSCĐ", "00 Tổ", "các Tổ CNSCĐ"],
    ),
    (
        "teams: missing",
        {k: None for k in ("teams_commune", "members_commune", "teams_village", "teams_total")},
        {},
        ["Xã Nam Chính chưa có số liệu về Tổ công nghệ số cộng đồng (CNSCĐ)."],
        ["None", "–"],
    ),
    # -- trainings -------------------------------------------------------------------------------
    (
        "trainings: zero",
        {"trainings": 0.0, "trainings_online": 0.0, "trainings_in_person": 0.0},
        {},
        [
            "Trong năm, các thành viên Tổ CNSCĐ chưa được tham dự lớp tập huấn nào.",
            "Các thành viên Tổ CNSCĐ chưa được tham dự lớp tập huấn nào nên công tác truyền thông",
        ],
        ["00 lớp", "00 lần"],
    ),
    (
        "trainings: one, online",
        {"trainings": 1.0, "trainings_online": 1.0, "trainings_in_person": 0.0},
        {},
        [
            "được tham dự 01 lớp tập huấn theo hình thức trực tuyến.",
            "Do mới được tham dự lớp tập huấn 01 lần bằng hình thức trực tuyến",
            "Tiếp tục hỗ trợ tập huấn bằng hình thức trực tiếp",
        ],
        [],
    ),
    (
        "trainings: several",
        {"trainings": 3.0, "trainings_online": 1.0, "trainings_in_person": 2.0},
        {},
        ["03 lớp tập huấn (01 lớp trực tuyến, 02 lớp trực tiếp)"],
        ["Do mới được tham dự"],
    ),
    (
        "trainings: missing sheet",
        {"trainings": None, "trainings_online": None, "trainings_in_person": None},
        {},
        [],
        ["tập huấn"],
    ),
    # -- the log and its period ------------------------------------------------------------------
    (
        "period: January to April",
        {"log_first_month": 1.0, "log_last_month": 4.0, "log_months": 4.0},
        {},
        [
            "Nhật ký hoạt động có số liệu từ tháng 01 đến tháng 4 năm 2023, chưa đủ cả năm",
            "tương đương 600 lượt trên 1.000 dân trong 04 tháng có số liệu.",
        ],
        [],
    ),
    ("period: the whole year", {}, {}, [], ["chưa đủ cả năm", "tháng có số liệu"]),
    (
        "period: missing log",
        {"log_first_month": None, "log_last_month": None, "log_months": None, "sessions": None},
        {},
        [],
        ["chưa đủ cả năm", "lượt hướng dẫn"],
    ),
    (
        "log: empty",
        {"sessions": 0.0, "people_guided": 0.0, "people_guided_per_1000": 0.0},
        {},
        ["Nhật ký hoạt động năm 2023 chưa ghi lượt hướng dẫn nào."],
        ["0 lượt hướng dẫn"],
    ),
    # -- Zalo ------------------------------------------------------------------------------------
    ("zalo: none", {"zalo_groups": 0.0}, {}, [], ["nhóm Zalo đã", "nhóm zalo"]),
    (
        "zalo: one",
        {"zalo_groups": 1.0, "zalo_groups_commune": 1.0, "zalo_groups_village": 0.0},
        {},
        ["tuyên truyền, nhóm Zalo đã được thành lập: 01 nhóm Zalo của Tổ CNSCĐ xã."],
        ["các nhóm Zalo đã"],
    ),
    (
        "zalo: several",
        {"zalo_groups": 5.0, "zalo_groups_commune": 1.0, "zalo_groups_village": 4.0},
        {},
        [
            "các nhóm Zalo đã được thành lập: 01 nhóm Zalo của Tổ CNSCĐ xã, 04 nhóm Zalo của Tổ "
            "CNSCĐ thôn."
        ],
        [],
    ),
    # -- results and the national targets -------------------------------------------------------
    (
        "results: one kind",
        {"cashless_accounts": 5.0, "online_dossiers": 0.0},
        {},
        ["đã có: 5 tài khoản thanh toán không dùng tiền mặt được mở mới."],
        ["mới;"],
    ),
    (
        "results: several kinds",
        {"new_internet": 12.0, "vneid_activated": 300.0, "online_dossiers": 7.0},
        {},
        [
            "đã có: 12 thuê bao Internet cáp quang được người dân đăng ký mới; 300 tài khoản "
            "định danh điện tử mức 2 (VNeID) được kích hoạt; 7 hồ sơ dịch vụ công trực tuyến."
        ],
        [],
    ),
    (
        "target: e-ID accounts measured",
        {"vneid_share": 62.5, "adults_with_vneid": 1250.0, "adults": 2000.0},
        {},
        [
            "Trên địa bàn có 62,5% người trưởng thành có tài khoản định danh điện tử mức 2 "
            "(1.250/2.000 người), chỉ tiêu quốc gia năm 2023 là trên 30%: đã đạt."
        ],
        [" %"],
    ),
    (
        "target: online dossiers below",
        {"online_dossier_share": 40.0, "online_dossiers": 40.0, "all_dossiers": 100.0},
        {},
        [
            "40% hồ sơ thủ tục hành chính được nộp trực tuyến (40/100 hồ sơ), chỉ tiêu quốc gia "
            "năm 2023 là 50%: chưa đạt."
        ],
        [],
    ),
    # Not measured: no verdict; sections II and III say the target cannot be judged.
    (
        "target: not measured",
        {"vneid_share": None},
        {},
        ["Chưa có số liệu về tỷ lệ người trưởng thành có tài khoản định danh điện tử mức 2"],
        ["đã đạt", "chưa đạt"],
    ),
    # -- findings and the proposals that follow --------------------------------------------------
    (
        "smartphones: one, in a village team of a small commune",
        {
            "members_without_smartphone": 1.0,
            "members_without_smartphone_village": 1.0,
            "members_total": 13.0,
        },
        {"members": ONE_SMARTPHONELESS},
        [
            "01 thành viên Tổ CNSCĐ cấp thôn ở thôn Bịch Tây không có điện thoại thông minh",
            "Hỗ trợ điện thoại thông minh cho thành viên Tổ CNSCĐ cấp thôn ở thôn Bịch Tây chưa "
            "có điện thoại thông minh; hỗ trợ cước phí 3G/4G cho các thành viên Tổ CNSCĐ cấp thôn.",
        ],
        ["cấp xã không có", "cho các thành viên Tổ CNSCĐ cấp thôn ở"],
    ),
    (
        "smartphones: one among hundreds of members, below the share",
        {
            "members_without_smartphone": 1.0,
            "members_without_smartphone_village": 1.0,
            "members_total": 350.0,
        },
        {"members": ONE_SMARTPHONELESS},
        [],
        ["điện thoại thông minh", "3G/4G"],
    ),
    (
        "smartphones: several, in the commune team only",
        {"members_without_smartphone": 2.0, "members_without_smartphone_commune": 2.0},
        {"members": [_member("Xã", smartphone=False), _member("Xã", smartphone=False)]},
        [
            "02 thành viên Tổ CNSCĐ cấp xã không có điện thoại thông minh",
            "Hỗ trợ điện thoại thông minh cho các thành viên Tổ CNSCĐ cấp xã chưa có điện thoại "
            "thông minh; hỗ trợ cước phí 3G/4G cho các thành viên Tổ CNSCĐ cấp thôn.",
        ],
        ["cấp thôn chưa có", "Tổ CNSCĐ thôn"],
    ),
    (
        "smartphones: several, at both levels",
        {
            "members_without_smartphone": 4.0,
            "members_without_smartphone_commune": 2.0,
            "members_without_smartphone_village": 2.0,
        },
        {"members": MANY_SMARTPHONELESS},
        [
            "04 thành viên của các Tổ CNSCĐ (02 thành viên tổ cấp xã, 02 thành viên tổ cấp thôn "
            "ở các thôn Bịch Tây, Hoàng Xá) không có điện thoại thông minh",
            "cho các thành viên Tổ CNSCĐ cấp xã và Tổ CNSCĐ cấp thôn ở các thôn Bịch Tây, "
            "Hoàng Xá chưa có",
        ],
        [],
    ),
    ("smartphones: none", {}, {}, [], ["điện thoại thông minh"]),
    (
        "villages without a team: two",
        {"villages_without_team": 2.0, "teams_village": 2.0, "teams_total": 3.0},
        {"members": TEAMS_IN_TWO},
        [
            "02 thôn chưa có Tổ CNSCĐ hoạt động: An Thượng, Hoàng Xá.",
            "Kiện toàn, thành lập Tổ CNSCĐ tại các thôn An Thượng, Hoàng Xá.",
        ],
        [],
    ),
    (
        "village leaders aged 60: one of five leaders",
        {"village_leaders_aged_60": 1.0, "leaders_aged_60_share": 20.0},
        {"members": [_member("Xã"), _member("Thôn", "Hoàng Xá", role="Tổ trưởng", born=1958)]},
        ["01 tổ trưởng của Tổ CNSCĐ cấp thôn từ 60 tuổi trở lên (thôn Hoàng Xá)"],
        [],
    ),
    (
        "low reach prorated to the months covered",
        {"people_guided_per_1000": 200.0, "log_months": 4.0, "log_last_month": 4.0},
        {},
        [],  # 200 in four months is above 500 × 4/12
        ["mới đạt"],
    ),
    (
        "low reach over the year",
        {"people_guided_per_1000": 200.0},
        {},
        [
            "mới đạt 200 lượt trên 1.000 dân, số người dân được tiếp cận",
            "hướng dẫn trực tiếp tại nhà văn hóa thôn",
        ],
        [],
    ),
    (
        "weak pillar and poor data, as shares",
        {"share_people_kinh_te_so": 8.4, "rows_rejected_share": 6.5},
        {},
        ["chỉ chiếm 8,4% số lượt", "các Tổ CNSCĐ còn chưa chặt chẽ: 6,5% số dòng"],
        [" %"],
    ),
    (
        "aged leaders: one among forty leaders, below the share",
        {"village_leaders_aged_60": 1.0, "leaders_aged_60_share": 2.5},
        {},
        [],
        ["60 tuổi", "hỗ trợ tổ trưởng"],
    ),
    # -- the rules added with the catalogue (pipeline/measuring/rules.py) ---------------------
    (
        "no commune-level team: said in I, II and III",
        {"teams_commune": 0.0, "members_commune": 0.0, "teams_total": 4.0},
        {},
        [
            "Xã Nam Chính chưa thành lập Tổ công nghệ số cộng đồng (CNSCĐ) cấp xã; hiện có",
            "Xã Nam Chính chưa thành lập Tổ CNSCĐ cấp xã nên việc chỉ đạo, điều phối hoạt động "
            "của các Tổ CNSCĐ cấp thôn còn hạn chế.",
            "Thành lập Tổ CNSCĐ cấp xã trong năm 2024, phân công thành viên phụ trách và điều "
            "phối hoạt động của các Tổ CNSCĐ cấp thôn.",
        ],
        ["không cho thấy tồn tại"],
    ),
    (
        "no commune-level team: missing figure says nothing",
        {"teams_commune": None},
        {},
        [],
        ["chưa thành lập Tổ CNSCĐ cấp xã nên"],
    ),
    (
        "villages without a team: many, counted with their share",
        {"villages": 40.0, "villages_without_team": 12.0, "teams_village": 28.0},
        {"villages": [f"Thôn {n}" for n in range(1, 41)], "members": [_member("Xã")]},
        [
            "12 thôn (chiếm 30% số thôn) chưa có Tổ CNSCĐ hoạt động.",
            "Kiện toàn, thành lập Tổ CNSCĐ tại 12 thôn chưa có tổ.",
        ],
        ["Thôn 1,"],
    ),
    (
        "a log that stops in April: II and III",
        {"log_first_month": 1.0, "log_last_month": 4.0, "log_months": 4.0},
        {},
        [
            "Nhật ký hoạt động của các Tổ CNSCĐ chỉ có số liệu từ tháng 01 đến tháng 4 năm 2023 "
            "(04/12 tháng), chưa phản ánh đầy đủ kết quả hoạt động cả năm.",
            "Các Tổ CNSCĐ cập nhật nhật ký hoạt động đầy đủ hằng tháng",
        ],
        [],
    ),
    (
        "a national target not met: II with its gap, III with whom",
        {"online_dossier_share": 26.7, "online_dossiers": 267.0, "all_dossiers": 1000.0},
        {},
        [
            "Tỷ lệ hồ sơ thủ tục hành chính được nộp trực tuyến mới đạt 26,7%, chưa đạt chỉ tiêu "
            "quốc gia năm 2023 (50%), còn thiếu 23,3 điểm phần trăm.",
            "Bộ phận Một cửa xã phối hợp với các Tổ CNSCĐ hướng dẫn người dân nộp hồ sơ thủ tục "
            "hành chính trực tuyến, phấn đấu đạt chỉ tiêu 50%",
        ],
        [],
    ),
    (
        "a national target met: nothing in II",
        {"vneid_share": 62.5, "adults_with_vneid": 1250.0, "adults": 2000.0},
        {},
        [],
        ["tài khoản định danh điện tử mức 2 mới đạt", "Công an"],
    ),
    (
        "Zalo groups of villages beyond the village teams",
        {"zalo_groups": 5.0, "zalo_groups_commune": 1.0, "zalo_groups_village": 4.0},
        {},
        ["01 nhóm Zalo của Tổ CNSCĐ xã, 04 nhóm Zalo của Tổ CNSCĐ thôn"],
        [],
    ),
    (
        "Zalo groups of villages with fewer village teams",
        {
            "zalo_groups": 5.0,
            "zalo_groups_commune": 1.0,
            "zalo_groups_village": 4.0,
            "teams_village": 3.0,
        },
        {},
        ["01 nhóm Zalo của Tổ CNSCĐ xã, 04 nhóm Zalo cấp thôn"],
        ["04 nhóm Zalo của Tổ CNSCĐ thôn"],
    ),
    (
        "a decision that set up village teams without a village list",
        {"teams_village": 0.0, "members_village": 0.0, "teams_total": 1.0},
        {
            "decisions": [
                {
                    "number": "40/QĐ-UBND",
                    "doc_kind": "Quyết định",
                    "date": pd.Timestamp(2023, 4, 25),
                    "issuer": "UBND xã Nam Chính",
                    "subject": "Thành lập Tổ chỉ đạo, tổ công nghệ số cộng đồng thôn",
                }
            ]
        },
        ["Tổ CNSCĐ cấp thôn đã có quyết định thành lập nhưng chưa có danh sách thành viên"],
        ["chưa thành lập Tổ CNSCĐ cấp thôn"],
    ),
    (
        "decisions: the commune's own are the main clause",
        {},
        {
            "decisions": [
                {
                    "number": "689/QĐ-UBND",
                    "doc_kind": "Quyết định",
                    "date": pd.Timestamp(2022, 3, 21),
                    "issuer": "UBND tỉnh Hải Dương",
                    "subject": "Về việc thành lập Tổ chỉ đạo",
                },
                {
                    "number": "40/QĐ-UBND",
                    "doc_kind": "Quyết định",
                    "date": pd.Timestamp(2022, 4, 25),
                    "issuer": "UBND xã Nam Chính",
                    "subject": "Kiện toàn Tổ",
                },
            ]
        },
        [
            "Thực hiện Quyết định số 689/QĐ-UBND ngày 21/3/2022 của UBND tỉnh Hải Dương về việc "
            "thành lập Tổ chỉ đạo, UBND xã Nam Chính đã ban hành Quyết định số 40/QĐ-UBND ngày "
            "25/4/2022 kiện toàn Tổ."
        ],
        [],
    ),
    (
        "decisions: only the levels above",
        {},
        {"issuer": "UBND huyện Nam Sách"},
        [
            "Trong năm, UBND xã Nam Chính triển khai thực hiện Quyết định số 40/QĐ-UBND ngày "
            "05/01/2023 của UBND huyện Nam Sách kiện toàn Tổ."
        ],
        ["Thực hiện Quyết định"],
    ),
    (
        "trainings: the proposal says in person or online, as the seed",
        {"trainings": 1.0, "trainings_online": 0.0, "trainings_in_person": 1.0},
        {},
        ["Tiếp tục hỗ trợ tập huấn bằng hình thức trực tiếp hoặc trực tuyến cho các thành viên"],
        [],
    ),
    # -- names mid-sentence and dates ------------------------------------------------------------
    (
        "an issuer's unit kind in sentence case, dates per Nghị định 30",
        {},
        {"issuer": "Phòng Văn hóa và Thông tin Thành phố Hải Dương"},
        ["Quyết định số 40/QĐ-UBND ngày 05/01/2023 của Phòng Văn hóa và Thông tin thành phố Hải"],
        ["Thông tin Thành phố"],
    ),
    (
        "no decision",
        {"decisions": 0.0},
        {"decisions": []},
        ["Trong năm chưa ghi nhận văn bản chỉ đạo"],
        ["Thực hiện"],
    ),
]


@pytest.mark.parametrize(
    ("values", "tables", "expected", "absent"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_sentence_reads_right(values, tables, expected, absent) -> None:
    text = _render(values, **tables)
    for sentence in expected:
        assert sentence in text, sentence
    for wrong in absent:
        assert wrong not in text, wrong


def test_a_town_of_to_dan_pho_is_named_so_everywhere() -> None:
    units = [f"Tổ dân phố số {n}" for n in range(1, 12)]
    values = {
        "villages": 11.0,
        "teams_village": 10.0,
        "teams_total": 11.0,
        "villages_without_team": 1.0,
        "people_guided_per_1000": 100.0,
        "zalo_groups": 11.0,
        "zalo_groups_commune": 1.0,
        "zalo_groups_village": 10.0,
    }
    members = [_member("Xã")] + [_member("Thôn", u) for u in units[:10]]
    text = _render(values, commune=TOWN, villages=units, members=members)
    for sentence in (
        "Thị trấn Nam Sách hiện có 01 Tổ công nghệ số cộng đồng (CNSCĐ) cấp thị trấn với 12 "
        "thành viên, 10 Tổ CNSCĐ cấp tổ dân phố với 19 thành viên trên tổng số 11 tổ dân phố.",
        "01 nhóm Zalo của Tổ CNSCĐ thị trấn, 10 nhóm Zalo của Tổ CNSCĐ tổ dân phố",
        "01 tổ dân phố chưa có Tổ CNSCĐ hoạt động: Tổ dân phố số 11.",
        "Kiện toàn, thành lập Tổ CNSCĐ tại Tổ dân phố số 11.",
        "hướng dẫn trực tiếp tại nhà văn hóa tổ dân phố",
    ):
        assert sentence in text, sentence
    assert not re.search(r"\bthôn\b", text.lower()) and "cấp xã" not in text


def test_the_annex_names_the_units_in_the_communes_words() -> None:
    context = report_context(
        TOWN,
        2023,
        _tables(villages=["Khu 1", "Khu 2"], kinds=["Khu dân cư", "Khu dân cư"]),
        BASE,
        load_settings(),
    )
    names = [row["name"] for row in context["annex"]]
    assert "Tổ CNSCĐ cấp thị trấn" in names and "Số khu dân cư" in names
    assert "Khu dân cư có Tổ CNSCĐ" in names
    assert not [n for n in names if "cấp xã" in n or re.search(r"\bthôn\b", n.lower())]


def test_report_dates_follow_decree_30() -> None:
    context = report_context(NAM_CHINH, 2023, _tables(), BASE, load_settings()) | {"footer": ""}
    html = render_report(context, {"services": "", "months": ""})
    assert "Nam Chính, ngày 05 tháng 02 năm 2024" in html
    assert dt.date(2024, 2, 5) == context["report_date"].date()


@pytest.mark.parametrize(
    ("title", "lines"),
    [
        ("Chủ tịch", ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Trần Văn Xuyến"]),
        ("Phó Chủ tịch", ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Trần Văn Xuyến"]),
        (None, ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Trần Văn Xuyến"]),
    ],
)
def test_a_deputy_signs_for_the_chairperson_as_decree_30_writes(title, lines) -> None:
    tables = _tables()
    tables["commune"]["signer_title"] = title
    context = report_context(NAM_CHINH, 2023, tables, BASE, load_settings()) | {"footer": ""}
    html = render_report(context, {"services": "", "months": ""})
    cell = html[html.index('<td class="signature">') :]
    cell = cell[: cell.index("</td>")]
    shown = [s for s in (visible_text(p).strip() for p in re.split(r"<br>|<div[^>]*>", cell)) if s]
    assert shown == lines


def test_months_after_a_log_that_stops_in_april_have_no_figure_in_the_annex() -> None:
    months = {f"people_month_{m:02d}": (90.0 if m <= 4 else None) for m in range(1, 13)}
    april = {**BASE, **months, "log_first_month": 1.0, "log_last_month": 4.0, "log_months": 4.0}
    # As the indicator table gives them (`compute_indicators`): no figure after April, and why.
    unlogged = {f"people_month_{m:02d}": "nhật ký không có tháng này" for m in range(5, 13)}
    context = report_context(NAM_CHINH, 2023, _tables(), april, load_settings(), unlogged)
    context |= {"footer": ""}
    rows = {row["code"]: row for row in context["annex"]}
    assert rows["people_month_04"]["value"] == 90.0
    assert rows["people_month_05"]["value"] is None
    assert rows["people_month_12"]["reason"] == "nhật ký không có tháng này"
    text = re.sub(r"\s+", " ", visible_text(render_report(context, {"services": "", "months": ""})))
    assert "Người được hướng dẫn tháng 5 lượt người không có (nhật ký không có tháng này)" in text
    year = {**BASE, **months, "people_month_05": 0.0}  # a whole year's log: May's zero is a zero
    rows = {
        r["code"]: r
        for r in report_context(NAM_CHINH, 2023, _tables(), year, load_settings())["annex"]
    }
    assert rows["people_month_05"]["value"] == 0.0


def test_only_the_kinds_that_have_a_team_name_the_village_teams() -> None:
    """Eight teams, all in buôn, in a commune of two thôn and eight buôn: 'cấp buôn' (it read
    'cấp thôn, buôn'); the units counted are still named 'thôn, buôn'."""
    units = ["Thôn Một", "Thôn Hai"] + [f"Buôn Ea {n}" for n in range(1, 9)]
    members = [_member("Xã")] + [
        _member("Thôn", u, role="Tổ trưởng", born=1950, smartphone=False) for u in units[2:]
    ]
    values = {
        "villages": 10.0,
        "teams_village": 8.0,
        "teams_total": 9.0,
        "members_village": 8.0,
        "members_total": 9.0,
        "villages_without_team": 2.0,
        "members_without_smartphone": 8.0,
        "members_without_smartphone_village": 8.0,
        "village_leaders_aged_60": 8.0,
        "leaders_aged_60_share": 100.0,  # the rule reads the share (8 of 8 buôn leaders)
    }
    text = _render(values, villages=units, members=members)
    assert "08 Tổ CNSCĐ cấp buôn với 08 thành viên trên tổng số 10 thôn, buôn" in text
    assert "08 tổ trưởng của Tổ CNSCĐ cấp buôn từ 60 tuổi" in text
    assert "cấp thôn, buôn" not in text


NUMBERED_WARD = Commune("27139", "Phường 9", "771", "Quận 3", "79", "Thành phố Hồ Chí Minh")


def test_a_numbered_ward_keeps_its_capital_everywhere() -> None:
    """Nghị định 30: a unit named by a number keeps its kind capitalised ('Ủy ban nhân dân
    Phường 9'), in the header, the subject, the closing line and a decision's issuer."""
    context = report_context(
        NUMBERED_WARD,
        2023,
        _tables(villages=["Khu phố 1", "Khu phố 2"], issuer="UBND Phường 9"),
        BASE,
        load_settings(),
    ) | {"footer": ""}
    text = re.sub(r"\s+", " ", visible_text(render_report(context, {"services": "", "months": ""})))
    assert "UBND PHƯỜNG 9" in text.upper()
    for phrase in (
        "trên địa bàn Phường 9 năm 2023",
        "của Ủy ban nhân dân Phường 9.",
        "UBND Phường 9 đã ban hành",
        "của Ủy ban nhân dân Phường 9)",  # the annex's reference to the report
    ):
        assert phrase in text, phrase
    assert "phường 9" not in text and "quận 3" not in text and "Quận 3" in text


def test_a_rejected_figure_a_target_needs_is_named_in_one_sentence() -> None:
    """Section II says which figure was written but rejected and which target it leaves
    unjudged; with nothing lost it says nothing."""
    from pipeline.measuring.indicators import REJECTED
    from pipeline.measuring.settings import load_settings
    from pipeline.writing.narrative import lost_figure_sentences

    settings = load_settings()
    assert lost_figure_sentences({"adults_with_vneid": ""}, settings) == []
    reasons = {"adults_with_vneid": REJECTED, "vneid_share": REJECTED}
    (sentence,) = lost_figure_sentences(reasons, settings, year=2023)
    assert sentence.startswith("Số liệu “người trưởng thành có tài khoản định danh điện tử mức 2”")
    assert "chỉ tiêu quốc gia năm 2023 về tỷ lệ người trưởng thành có tài khoản" in sentence
    assert sentence.count(".") == 1 and sentence.endswith(".")
    # A year that declares no target for it names none (never another year's).
    (sentence,) = lost_figure_sentences(reasons, settings, year=2024)
    assert "chỉ tiêu" not in sentence


def test_training_once_in_a_second_year_is_not_said_as_a_first() -> None:
    values = {**BASE, "trainings": 1.0, "trainings_online": 1.0, "trainings_in_person": 0.0}
    context = report_context(NAM_CHINH, 2023, _tables(), values, load_settings())
    first = visible_text(render_report(context | {"footer": ""}, {"services": "", "months": ""}))
    again = context | {"footer": "", "previous": {"trainings": 2.0}}
    second = visible_text(render_report(again, {"services": "", "months": ""}))
    assert "Do mới được tham dự lớp tập huấn 01 lần bằng hình thức trực tuyến" in first
    assert "Do mới" not in second
    second = re.sub(r"\s+", " ", second)
    assert "chỉ được tham dự 01 lớp tập huấn bằng hình thức trực tuyến" in second


def test_the_annex_reasons_add_up_to_the_rows_rejected() -> None:
    # Nam Chính's annex listed 16 rows of reasons under "Bị loại 14": its two blank rows are
    # not rejected rows (cleaning's quality summary leaves them out), so neither are they here.
    tables = _tables()
    tables["quality"] = pd.DataFrame(
        [
            {
                "sheet": "Nhật ký hoạt động",
                "rows_read": 70,
                "rows_kept": 69,
                "rows_fixed": 0,
                "rows_rejected": 1,
            }
        ]
    )
    tables["rejected"] = pd.DataFrame(
        {
            "reason_code": ["blank_row", "blank_row", "duplicate_row"],
            "reason": ["Dòng trống", "Dòng trống", "Dòng trùng lặp"],
        }
    )
    context = report_context(NAM_CHINH, 2023, tables, BASE, load_settings())
    assert context["rejected_reasons"] == [("Dòng trùng lặp", 1)]
    assert sum(n for _, n in context["rejected_reasons"]) == sum(
        row["rows_rejected"] for row in context["quality"]
    )


def test_the_training_content_is_said_as_the_seed_says_it() -> None:
    tables = _tables()
    tables["trainings"] = pd.DataFrame(
        {
            "organiser": ["UBND huyện Nam Sách", "UBND huyện Nam Sách"],
            "topic": ["Sử dụng dịch vụ công trực tuyến.", "Sử dụng dịch vụ công trực tuyến."],
        }
    )
    context = report_context(NAM_CHINH, 2023, tables, BASE, load_settings()) | {"footer": ""}
    text = re.sub(r"\s+", " ", visible_text(render_report(context, {"services": "", "months": ""})))
    # The seed: "Tại lớp tập huấn, các thành viên được giới thiệu, hướng dẫn sử dụng …".
    assert (
        "Tại các lớp tập huấn, các thành viên được phổ biến nội dung: sử dụng dịch vụ công "
        "trực tuyến." in text
    )
    context = report_context(NAM_CHINH, 2023, _tables(), BASE, load_settings()) | {"footer": ""}
    assert "được phổ biến" not in visible_text(
        render_report(context, {"services": "", "months": ""})
    )


def test_a_predecessors_decisions_are_theirs_before_the_merger() -> None:
    from pipeline.registry.tree import find_commune

    tran_phu = find_commune(2024, "10633")  # from Nam Chính and Nam Trung on 01/12/2024
    decisions = [
        {
            "number": n,
            "doc_kind": "Quyết định",
            "date": pd.Timestamp(date),
            "issuer": issuer,
            "subject": "Kiện toàn Tổ",
        }
        for n, date, issuer in (
            ("27/QĐ-UBND", "2024-05-28", "UBND xã Nam Chính"),
            ("69/QĐ-UBND", "2024-12-01", "UBND xã Trần Phú"),
        )
    ]
    context = report_context(
        tran_phu, 2024, _tables(decisions=decisions), BASE, load_settings()
    ) | {"footer": ""}
    text = re.sub(r"\s+", " ", visible_text(render_report(context, {"services": "", "months": ""})))
    assert (
        "UBND xã Trần Phú đã ban hành Quyết định số 69/QĐ-UBND ngày 01/12/2024 kiện toàn Tổ. "
        "Trước khi sắp xếp, UBND xã Nam Chính (cũ) đã ban hành Quyết định số 27/QĐ-UBND ngày "
        "28/5/2024 kiện toàn Tổ."
    ) in text
    assert "Thực hiện" not in text


def test_low_reach_claims_nothing_the_figures_do_not_show() -> None:
    # A đặc khu's II said "nhiều người dân dùng điện thoại thông minh nhưng chưa sử dụng dịch vụ
    # số" with no figure of smartphones among the people behind it.
    text = _render({"people_guided_per_1000": 200.0})
    assert "mới đạt 200 lượt trên 1.000 dân" in text
    assert "dùng điện thoại thông minh nhưng" not in text


def test_the_aged_leaders_sentence_says_the_age_of_the_settings() -> None:
    values = {**BASE, "village_leaders_aged_60": 2.0, "leaders_aged_60_share": 50.0}
    context = report_context(NAM_CHINH, 2023, _tables(), values, load_settings())
    assert context["aged_from"] == 60
    for age in (60, 55):
        text = visible_text(
            render_report(
                context | {"footer": "", "aged_from": age}, {"services": "", "months": ""}
            )
        )
        assert f"02 tổ trưởng của Tổ CNSCĐ cấp thôn từ {age} tuổi trở lên" in text


def test_rejected_figures_named_in_section_two_get_their_proposal_in_section_three() -> None:
    """A review found section III saying 'Tiếp tục duy trì hoạt động…' under a section II that
    names figures lost to rejected rows: the request to correct them was in neither."""
    context = report_context(NAM_CHINH, 2023, _tables(), BASE, load_settings())
    lost = {
        "footer": "",
        "findings": {},
        "lost_figures": ["Số liệu “x” đã được ghi nhưng bị loại."],
    }
    text = re.sub(
        r"\s+", " ", visible_text(render_report(context | lost, {"services": "", "months": ""}))
    )
    proposals = text[text.index("III. ĐỀ XUẤT") : text.index("IV. PHƯƠNG HƯỚNG")]
    assert "rà soát, ghi lại đúng các dòng số liệu bị loại" in proposals
    assert "Tiếp tục duy trì hoạt động" not in proposals


def _lists_settings() -> dict:
    """The packaged settings with the rules on villages raised at any share: the lists'
    sentences at 0, 1, few and many villages of a commune of eighty."""
    settings = load_settings()
    limits = settings["limitations"] | {
        "min_villages_without_team_share": 1,
        "min_aged_leaders_share": 1,
        "min_members_without_smartphone_share": 1,
    }
    return settings | {"limitations": limits}


@pytest.mark.parametrize("n", [0, 1, 3, "up_to", "up_to + 1", 30])
def test_village_lists_are_named_when_few_and_counted_when_many(n) -> None:
    """A post-merger commune has dozens of villages: the sentences on villages without a team,
    aged leaders and members without a smartphone named every one of them."""
    settings = _lists_settings()
    up_to = settings["limitations"]["name_villages_up_to"]
    n = {"up_to": up_to, "up_to + 1": up_to + 1}.get(n, n)
    units = [f"Đông {i}" for i in range(1, 81)]
    with_team, without = units[: 80 - n], units[80 - n :]
    # The first n teams have an aged leader without a smartphone.
    members = [_member("Xã")] + [
        _member("Thôn", u, role="Tổ trưởng", born=1950 if i < n else 1990, smartphone=i >= n)
        for i, u in enumerate(with_team)
    ]
    values = {
        **BASE,
        "villages": 80.0,
        "teams_village": float(80 - n),
        "teams_total": float(81 - n),
        "members_village": float(80 - n),
        "members_total": float(81 - n),
        "villages_without_team": float(n),
        "village_leaders_aged_60": float(n),
        "leaders_aged_60_share": n / (80 - n) * 100,
        "members_without_smartphone": float(n),
        "members_without_smartphone_village": float(n),
    }
    context = report_context(
        NAM_CHINH, 2023, _tables(villages=units, members=members), values, settings
    )
    text = visible_text(render_report(context | {"footer": ""}, {"services": "", "months": ""}))
    text = re.sub(r"\s+", " ", text)
    body = text[text.index("II. TỒN TẠI") : text.index("IV. PHƯƠNG HƯỚNG")]
    named = units
    if n == 0:
        assert "chưa có Tổ CNSCĐ hoạt động" not in body and "60 tuổi" not in body
        assert "điện thoại thông minh" not in body
        return
    count = f"{n:02d}"
    if n <= up_to:
        listed = ", ".join(without)
        assert f"{count} thôn chưa có Tổ CNSCĐ hoạt động: {listed}." in body
        aged = ", ".join(with_team[:n])
        assert f"({'thôn' if n == 1 else 'các thôn'} {aged})" in body
        assert f"Tổ CNSCĐ cấp thôn ở {'thôn' if n == 1 else 'các thôn'} {aged}" in body
    else:
        share = number(n / 80 * 100)
        assert f"{count} thôn (chiếm {share}% số thôn) chưa có Tổ CNSCĐ hoạt động." in body
        assert f"Kiện toàn, thành lập Tổ CNSCĐ tại {count} thôn chưa có tổ." in body
        assert (
            f"{count} tổ trưởng của Tổ CNSCĐ cấp thôn từ 60 tuổi trở lên (ở {count} thôn)" in body
        )
        assert f"{count} thành viên Tổ CNSCĐ cấp thôn ở {count} thôn không có" in body
        # No village is named in II or III.
        assert not any(re.search(rf"\b{name}\b", body) for name in named), body


def test_villages_without_a_team_are_said_in_their_own_unit_words() -> None:
    """The seed writes "02 thôn, buôn chưa có Tổ …": the words of the villages without a team,
    not the commune's (a commune of thôn and buôn whose uncovered units are all buôn said
    "02 thôn, buôn")."""
    units = ["Thôn Một", "Thôn Hai"] + [f"Buôn Ea {n}" for n in range(1, 9)]
    values = {"villages": 10.0, "teams_village": 8.0, "teams_total": 9.0}
    values["villages_without_team"] = 2.0
    # Both kinds without a team: "thôn, buôn".
    members = [_member("Xã")] + [
        _member("Thôn", u) for u in units if u not in ("Thôn Hai", "Buôn Ea 8")
    ]
    text = _render(values, villages=units, members=members)
    assert "02 thôn, buôn chưa có Tổ CNSCĐ hoạt động: thôn Hai, buôn Ea 8." in text
    # Only buôn without a team: "buôn".
    members = [_member("Xã")] + [_member("Thôn", u) for u in units[:8]]
    text = _render(values, villages=units, members=members)
    assert "02 buôn chưa có Tổ CNSCĐ hoạt động: buôn Ea 7, buôn Ea 8." in text
    assert "Kiện toàn, thành lập Tổ CNSCĐ tại các buôn Ea 7, Ea 8." in text


def _zalo(contacts: list) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "commune_code": "x",
            "group_name": [f"Nhóm {n}" for n in range(len(contacts))],
            "team_level": ["Xã"] + ["Thôn"] * (len(contacts) - 1),
            "contact": pd.array(contacts, dtype="boolean"),
        }
    )


LINKED = "Các nhóm Zalo này đều có sự kết nối thông qua các thành viên đầu mối"


@pytest.mark.parametrize(
    ("contacts", "said"),
    [
        ([True, True, True], True),  # every group has its contact member: the seed's sentence
        ([True, False, True], False),  # one without: not "đều"
        ([True, None, True], False),  # one unanswered: missing is not yes
        ([True], False),  # one group links nothing
        (None, False),  # an older workbook without the column: nothing said, never a guess
    ],
)
def test_the_zalo_groups_contact_members_are_said_only_from_the_data(contacts, said) -> None:
    values = {**BASE, "zalo_groups": 3.0, "zalo_groups_commune": 1.0, "zalo_groups_village": 2.0}
    tables = _tables()
    if contacts is None:
        tables["zalo"] = _zalo([True, True, True]).drop(columns="contact")
    else:
        tables["zalo"] = _zalo(contacts)
    context = report_context(NAM_CHINH, 2023, tables, values, load_settings()) | {"footer": ""}
    text = re.sub(r"\s+", " ", visible_text(render_report(context, {"services": "", "months": ""})))
    assert (LINKED in text) is said


def test_an_older_workbook_without_the_contact_column_is_read_and_says_nothing(tmp_path) -> None:
    """The column is new: a workbook written before it is read as before (no rejected row, no
    guess), and the sample's workbook, which has it, gives the seed's sentence."""
    from openpyxl import load_workbook

    from pipeline.core import contract
    from pipeline.core.config import Paths
    from pipeline.reading.store import read_commune
    from pipeline.running.preparing import prepare
    from pipeline.sample import generate, sample_commune
    from pipeline.writing.narrative import zalo_linked

    paths = Paths.under(tmp_path)
    generate(paths.raw, years=(2022,), only=("nam-chinh",), activity_rows=(30, 40))
    commune = sample_commune(2022, "nam-chinh")
    assert prepare(paths, 2022, [commune], workers=1) == {}
    zalo = read_commune(paths.processed_year(2022), commune.code)["zalo"]
    assert len(zalo) > 1 and zalo["contact"].eq(True).all() and zalo_linked(zalo)

    workbook = paths.raw_year(2022) / f"{commune.stem}.xlsx"
    book = load_workbook(workbook)
    sheet = book[contract.ZALO.name]
    header = [c.value for c in sheet[1]]
    sheet.delete_cols(header.index("Có thành viên đầu mối") + 1)
    book.save(workbook)
    assert prepare(paths, 2022, [commune], workers=1) == {}
    tables = read_commune(paths.processed_year(2022), commune.code)
    assert tables["zalo"]["contact"].isna().all() and not zalo_linked(tables["zalo"])
    assert len(tables["zalo"]) == len(zalo)
    assert not tables["rejected"]["sheet"].eq(contract.ZALO.name).any()


def test_a_post_merger_communes_lists_of_villages_are_counted_not_named(tmp_path) -> None:
    """The sample's merged units of real size (`sample.POST_MERGER`, dozens of villages): each
    sentence of II and III on villages names none beyond the threshold and counts them."""
    from pipeline.core.config import Paths
    from pipeline.reading.store import read_commune
    from pipeline.running.computing import compute_year
    from pipeline.running.preparing import prepare
    from pipeline.sample import POST_MERGER_YEAR, generate, post_merger_communes
    from pipeline.writing.report import commune_report_html

    year, communes = POST_MERGER_YEAR, list(post_merger_communes())
    paths = Paths.under(tmp_path)
    generate(paths.raw, years=(year,), units=communes)
    assert prepare(paths, year, communes, workers=1) == {}
    compute_year(paths, year)
    up_to = load_settings()["limitations"]["name_villages_up_to"]
    for commune in communes:
        villages = read_commune(paths.processed_year(year), commune.code)["villages"]["village"]
        assert len(villages) > 30, commune.name  # dozens of villages
        html = commune_report_html(year, commune.code, tmp_path)
        said = re.findall(
            r'<p data-rule="(?:villages_without_team|aged_leaders|no_smartphone)">(.*?)</p>',
            html,
            re.S,
        )
        assert said, commune.name
        counted = 0
        for sentence in said:
            text = re.sub(r"\s+", " ", visible_text(sentence))
            named = [v for v in villages if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text)]
            assert len(named) <= up_to, (commune.name, text)
            counted += bool(re.search(r"ở \d+ (thôn|tổ dân phố)", text))
        assert counted, commune.name  # the lists too long to name are counted


def _render_with_reasons(values: dict, reasons: dict[str, str], members=None) -> str:
    tables = _tables(members=members) if members is not None else _tables()
    context = report_context(
        NAM_CHINH, 2023, tables, {**BASE, **values}, load_settings(), reasons
    ) | {"footer": ""}
    text = re.sub(r"\s+", " ", visible_text(render_report(context, {"services": "", "months": ""})))
    return text[text.index("I. KẾT QUẢ") : text.index("IV. PHƯƠNG HƯỚNG")]  # not the annex


def test_rejected_trainings_and_zalo_groups_are_said_written_and_rejected_not_none() -> None:
    """(Failed on the old code: section I said nothing of them and II did not name them; with
    the old zero, 'chưa được tham dự lớp tập huấn nào'.)"""
    from pipeline.measuring.indicators import REJECTED

    lost = ("trainings", "trainings_online", "trainings_in_person", "zalo_groups")
    text = _render_with_reasons(dict.fromkeys(lost), dict.fromkeys(lost, REJECTED))
    assert "chưa được tham dự" not in text and "Do mới được tham dự" not in text
    assert "Số liệu tập huấn trong năm đã được ghi nhưng có dòng bị loại" in text
    assert "Số liệu nhóm Zalo đã được ghi nhưng có dòng bị loại" in text
    assert "Số liệu “lớp tập huấn”, “nhóm Zalo” đã được ghi nhưng có dòng không hợp lệ" in text


def test_village_teams_unknown_are_not_said_missing_nor_absent() -> None:
    """Village-team members with no village written: section I gives their number and says the
    teams are not counted; no sentence says the list is missing or villages lack a team
    (failed on the old code: 'chưa có danh sách thành viên')."""
    from pipeline.measuring.indicators import VILLAGE_NOT_WRITTEN

    unknown = ("teams_village", "teams_total", "villages_without_team", "villages_with_team")
    members = [_member("Xã")] + [_member("Thôn")] * 3
    text = _render_with_reasons(
        dict.fromkeys(unknown), dict.fromkeys(unknown, VILLAGE_NOT_WRITTEN), members
    )
    assert (
        "cấp xã với 12 thành viên; Tổ CNSCĐ cấp thôn với 19 thành viên (danh sách thành viên "
        "chưa ghi thôn nên chưa xác định được số Tổ CNSCĐ cấp thôn)"
    ) in text
    for wrong in ("chưa có danh sách thành viên", "chưa có Tổ CNSCĐ", "chưa thành lập Tổ CNSCĐ"):
        assert wrong not in text, wrong


def test_a_log_with_no_row_is_said_not_written() -> None:
    """(Failed on the old code: nothing said, the annex's 0 people guided stood alone.)"""
    from pipeline.measuring.indicators import EMPTY_LOG, REJECTED

    log = ("sessions", "people_guided", "people_guided_per_1000", "log_months")
    text = _render_with_reasons(dict.fromkeys(log), dict.fromkeys(log, EMPTY_LOG))
    assert "Nhật ký hoạt động năm 2023 chưa được ghi nên chưa có số liệu về lượt hướng dẫn" in text
    assert "chưa ghi lượt hướng dẫn nào" not in text
    text = _render_with_reasons(dict.fromkeys(log), dict.fromkeys(log, REJECTED))
    assert "Nhật ký hoạt động năm 2023 đã được ghi nhưng các dòng đều bị loại" in text


def test_a_target_of_the_year_whose_figure_is_not_written_is_said_unjudged() -> None:
    """A new user's trial (Đặc khu Côn Đảo 2025, no "Kết quả" of dossiers or accounts): the
    year's national targets could not be judged and sections II and III said nothing of it.
    A figure written but rejected is said by the lost-figures sentence, not this one."""
    from pipeline.measuring.indicators import REJECTED

    def render(values: dict, reasons: dict) -> str:
        context = report_context(
            NAM_CHINH, 2023, _tables(), {**BASE, **values}, load_settings(), reasons
        ) | {"footer": ""}
        text = re.sub(
            r"\s+", " ", visible_text(render_report(context, {"services": "", "months": ""}))
        )
        return text[text.index("II. TỒN TẠI") : text.index("IV. PHƯƠNG HƯỚNG")]

    unwritten = "tỷ lệ hồ sơ thủ tục hành chính được nộp trực tuyến"
    text = render({}, {})
    assert (
        "Chưa có số liệu về tỷ lệ" in text
        and unwritten in text
        and "chưa đánh giá được việc thực hiện chỉ tiêu quốc gia năm 2023" in text
    )
    assert "theo dõi, thống kê số liệu về tỷ lệ" in text
    text = render(
        {"online_dossier_share": 62.0, "online_dossiers": 62.0, "all_dossiers": 100.0}, {}
    )
    assert unwritten not in text
    text = render({}, {"online_dossier_share": REJECTED})
    assert unwritten not in text


def test_the_log_s_figures_say_the_rows_rejected_they_leave_out() -> None:
    """Section I's people guided is the kept rows' sum: it says the rejected rows it leaves out
    (a trial's phường printed 4.999 sessions as the whole though a row of −15 was rejected), and
    says nothing when none was."""
    for rejected, said in ((1.0, True), (0.0, False)):
        values = {**BASE, "log_rows_rejected": rejected}
        context = report_context(NAM_CHINH, 2022, _tables(), values, load_settings())
        text = visible_text(render_report(context | {"footer": ""}, {"services": "", "months": ""}))
        text = re.sub(r"\s+", " ", text)
        phrase = "(chưa gồm 01 dòng nhật ký không hợp lệ bị loại, xem danh sách dòng bị loại"
        assert (phrase in text) is said


def test_section_ii_names_a_figure_lost_by_an_answer_blanked_at_cleaning() -> None:
    """A Zalo group's member count 'khoảng 200', blanked as unreadable: section II names the
    figure as written but rejected (a trial's phường dropped it from section I and said nothing
    of it in section II)."""
    from pipeline.writing.narrative import lost_figure_sentences

    reasons = {"zalo_members": REJECTED, "members_without_smartphone": REJECTED}
    (sentence,) = lost_figure_sentences(reasons, load_settings(), year=2025)
    assert "“thành viên nhóm Zalo”" in sentence
    assert "“thành viên chưa có điện thoại thông minh”" in sentence
