"""The real path: workbooks -> cleaning -> indicators -> papermill with a real kernel -> HTML."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipeline.core.config import Paths
from pipeline.running.runner import run_year
from pipeline.sample import sample_commune

SECTIONS = [
    "I. KẾT QUẢ HOẠT ĐỘNG NĂM 2022",
    "II. TỒN TẠI HẠN CHẾ, NGUYÊN NHÂN",
    "III. ĐỀ XUẤT, KIẾN NGHỊ",
    "IV. PHƯƠNG HƯỚNG HOẠT ĐỘNG NĂM 2023",
]
PILLARS = ("+ Về chính quyền số:", "+ Về kinh tế số:", "+ Về xã hội số:")
RUN = ("nam-chinh", "an-lam")
# The sheets the figures are counted from, and the only columns of them the sample plants mess
# in (`_planted.csv`): a member's name (legacy encodings), never read, and the smartphone answer
# (variants of yes and no), read only where it is written exactly "Không" (no yes becomes that).
COUNTED_SHEETS = ("Thông tin xã", "Thôn", "Thành viên", "Tập huấn", "Nhóm Zalo", "Văn bản")
MESSY_COLUMNS = {("Thành viên", "Họ và tên"), ("Thành viên", "Có điện thoại thông minh")}


def _text(html: str) -> str:
    """The visible text of a page: tags and styles removed, spaces folded."""
    html = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _rows(book, sheet: str) -> list[dict]:
    """A sheet's rows as {header: value}, rows without any value left out."""
    values = book[sheet].iter_rows(values_only=True)
    headers = next(values)
    return [dict(zip(headers, row, strict=True)) for row in values if any(row)]


def _number(n: int) -> str:
    """1550 -> '1.550', as Vietnamese writes thousands."""
    return f"{n:,}".replace(",", ".")


def _count(n: int) -> str:
    """A small count as official reports write it: 01 … 09, then 10, 11 …"""
    return f"{n:02d}" if n < 10 else _number(n)


def _month(month: int) -> str:
    """Months 1 and 2 with a leading zero, then 3 to 12 (Nghị định 30/2020)."""
    return f"{month:02d}" if month < 3 else str(month)


def _date(d) -> str:
    """21/3/2022, 05/01/2023."""
    return f"{d.day:02d}/{_month(d.month)}/{d.year}"


def _what_the_workbook_says(workbook: Path, year: int) -> list[tuple[str, str]]:
    """(what, the words the report must print), counted from the raw workbook's rows by this
    file's own code: no figure comes from the generator's constants or the product's tables."""
    book = load_workbook(workbook, read_only=True)
    info = _rows(book, "Thông tin xã")[0]
    villages = _rows(book, "Thôn")
    members = _rows(book, "Thành viên")
    trainings = _rows(book, "Tập huấn")
    groups = _rows(book, "Nhóm Zalo")
    decisions = _rows(book, "Văn bản")

    name = info["Tên xã"]  # "Xã An Lâm"
    kind, short = name.split(" ", 1)
    body = f"UBND {kind.lower()} {short}"
    number = f"{int(info['Số báo cáo']):02d}"
    day = info["Ngày báo cáo"]
    says = [
        ("header: issuer", f"ỦY BAN NHÂN DÂN {name.upper()}"),
        ("header: report number", f"Số: {number}/BC-UBND"),
        (
            "header: place, date",
            f"{short}, ngày {day.day:02d} tháng {_month(day.month)} năm {day.year}",
        ),
        ("signature", f"TM. ỦY BAN NHÂN DÂN {info['Chức vụ người ký'].upper()} {info['Người ký']}"),
        (
            "annex heading",
            f"(Kèm theo Báo cáo số {number}/BC-UBND ngày {_date(day)} "
            f"của Ủy ban nhân dân {kind.lower()} {short})",
        ),
        ("annex: villages", f"Số thôn thôn {len(villages)}"),
        ("annex: people", f"Dân số người {_number(sum(v['Số dân'] for v in villages))}"),
        ("annex: households", f"Số hộ hộ {_number(sum(v['Số hộ'] for v in villages))}"),
    ]

    # Members per level; a village team is a village that members of level "Thôn" belong to.
    commune_members = [m for m in members if m["Cấp tổ"] == "Xã"]
    village_members = [m for m in members if m["Cấp tổ"] == "Thôn"]
    team_villages = {m["Thôn"] for m in village_members}
    assert commune_members and team_villages, "the sentences below are those of both levels"
    says += [
        (
            "I.1: teams and members",
            f"{kind} {short} hiện có 01 Tổ công nghệ số cộng đồng (CNSCĐ) cấp xã với "
            f"{_count(len(commune_members))} thành viên, {_count(len(team_villages))} Tổ CNSCĐ "
            f"cấp thôn với {_count(len(village_members))} thành viên trên tổng số "
            f"{_count(len(villages))} thôn.",
        ),
        ("annex: commune team", "Tổ CNSCĐ cấp xã tổ 1"),
        ("annex: commune members", f"Thành viên tổ cấp xã người {len(commune_members)}"),
        ("annex: village teams", f"Tổ CNSCĐ cấp thôn tổ {len(team_villages)}"),
        ("annex: village members", f"Thành viên tổ cấp thôn người {len(village_members)}"),
        ("annex: all teams", f"Tổng số Tổ CNSCĐ tổ {1 + len(team_villages)}"),
        ("annex: all members", f"Tổng số thành viên người {len(members)}"),
        ("annex: villages with a team", f"Thôn có Tổ CNSCĐ thôn {len(team_villages)}"),
        (
            "annex: villages without",
            f"Thôn chưa có Tổ CNSCĐ thôn {len(villages) - len(team_villages)}",
        ),
    ]

    # Village team leaders aged 60 or more in the report's year, and their villages.
    aged = [
        m["Thôn"]
        for m in village_members
        if m["Chức danh trong tổ"] == "Tổ trưởng" and year - m["Năm sinh"] >= 60
    ]
    says.append(
        ("annex: aged leaders", f"Tổ trưởng tổ cấp thôn từ 60 tuổi trở lên người {len(aged)}")
    )
    if aged:
        places = f"thôn {aged[0]}" if len(aged) == 1 else f"các thôn {', '.join(aged)}"
        says.append(
            (
                "II: aged leaders",
                f"{_count(len(aged))} tổ trưởng của Tổ CNSCĐ cấp thôn từ 60 tuổi trở lên "
                f"({places})",
            )
        )

    # A member written down as having no smartphone: the finding and the proposal it brings.
    if any(m["Có điện thoại thông minh"] == "Không" for m in members):
        says += [
            ("II: no smartphone", "không có điện thoại thông minh, do đó việc trao đổi"),
            ("III: 3G/4G", "hỗ trợ cước phí 3G/4G cho các thành viên Tổ CNSCĐ cấp thôn."),
        ]

    # Trainings: how many, in which mode, by whom, on what.
    online = sum(t["Hình thức"] == "Trực tuyến" for t in trainings)
    in_person = sum(t["Hình thức"] == "Trực tiếp" for t in trainings)
    assert online + in_person == len(trainings) > 0
    if online and in_person:
        mode = f" ({_count(online)} lớp trực tuyến, {_count(in_person)} lớp trực tiếp)"
    else:
        mode = " theo hình thức " + ("trực tuyến" if online else "trực tiếp")
    organisers = ", ".join(sorted({t["Đơn vị tổ chức"] for t in trainings}))
    topics = [t[:1].lower() + t[1:] for t in dict.fromkeys(t["Nội dung"] for t in trainings)]
    several = len(trainings) > 1
    says += [
        (
            "I.1: trainings",
            f"Trong năm, các thành viên Tổ CNSCĐ được tham dự {_count(len(trainings))} lớp tập "
            f"huấn{mode} do {organisers} tổ chức.",
        ),
        (
            "I.1: what they taught",
            f"Tại {'các lớp' if several else 'lớp'} tập huấn, các thành viên được phổ biến "
            f"{'các nội dung' if len(topics) > 1 else 'nội dung'}: {'; '.join(topics)}.",
        ),
        ("annex: trainings", f"Lớp tập huấn lớp {len(trainings)}"),
        ("annex: online", f"Lớp tập huấn trực tuyến lớp {online}"),
        ("annex: in person", f"Lớp tập huấn trực tiếp lớp {in_person}"),
    ]

    # Zalo groups per level and their members; linked when every group has a contact member.
    commune_groups = sum(g["Cấp tổ"] == "Xã" for g in groups)
    village_groups = sum(g["Cấp tổ"] == "Thôn" for g in groups)
    assert commune_groups == 1 and 0 < village_groups <= len(team_villages)
    joined = sum(g["Số thành viên"] for g in groups)
    says += [
        (
            "I.3: Zalo groups",
            f"{_count(commune_groups)} nhóm Zalo của Tổ CNSCĐ xã, {_count(village_groups)} nhóm "
            f"Zalo của Tổ CNSCĐ thôn, với {_number(joined)} thành viên tham gia.",
        ),
        ("annex: groups", f"Nhóm Zalo nhóm {len(groups)}"),
        ("annex: commune groups", f"Nhóm Zalo cấp xã nhóm {commune_groups}"),
        ("annex: village groups", f"Nhóm Zalo cấp thôn nhóm {village_groups}"),
        ("annex: group members", f"Thành viên nhóm Zalo người {_number(joined)}"),
    ]
    if all(g["Có thành viên đầu mối"] == "Có" for g in groups):
        says.append(("I.3: linked", "Các nhóm Zalo này đều có sự kết nối thông qua các thành viên"))

    # Decisions: those of the levels above carried out, then the commune's own.
    def document(d: dict, whose: bool) -> str:
        subject = d["Trích yếu"]
        return (
            f"{d['Loại văn bản']} số {d['Số hiệu']} ngày {_date(d['Ngày ban hành'])}"
            + (f" của {d['Cơ quan ban hành']}" if whose else "")
            + f" {subject[:1].lower()}{subject[1:]}"
        )

    above = [document(d, True) for d in decisions if d["Cơ quan ban hành"] != body]
    own = [document(d, False) for d in decisions if d["Cơ quan ban hành"] == body]
    assert above and own, "the sentence below is the one with both"
    says += [
        ("I.2: decisions", f"Thực hiện {'; '.join(above)}, {body} đã ban hành {'; '.join(own)}."),
        ("annex: decisions", f"Văn bản chỉ đạo văn bản {len(decisions)}"),
    ]
    return says


@pytest.fixture(scope="module")
def district_run(tiny_district: Paths, tmp_path_factory):
    import shutil

    paths = Paths.under(tmp_path_factory.mktemp("run"))
    shutil.copytree(tiny_district.raw, paths.raw)
    communes = [sample_commune(2022, slug) for slug in RUN]
    runs = run_year(paths, 2022, communes, workers=2, echo=lambda *_: None)
    return paths, runs


def test_every_commune_succeeds(district_run) -> None:
    _, runs = district_run
    assert [(r.commune.slug, r.status) for r in runs] == [("nam-chinh", "ok"), ("an-lam", "ok")]


def test_the_counted_cells_carry_no_planted_mess(district_run) -> None:
    """What `_what_the_workbook_says` counts needs no cleaning: the sample's mess lies elsewhere
    (the log, and members' names and smartphone answers)."""
    paths, runs = district_run
    with open(paths.raw_year(2022) / "_planted.csv", encoding="utf-8") as f:
        planted = list(csv.DictReader(f))
    files = {f"{r.commune.stem}.xlsx" for r in runs}
    assert {p["file"] for p in planted} >= files  # the mess is there, and listed
    touched = {
        (p["sheet"], p["column"])
        for p in planted
        if p["file"] in files and p["sheet"] in COUNTED_SHEETS
    }
    assert touched <= MESSY_COLUMNS, touched


@pytest.mark.parametrize("slug", RUN)
def test_each_report_states_what_its_workbook_holds(district_run, slug: str) -> None:
    """The report against the figures counted from its own workbook's rows, for each commune of
    the run: the seed's facts are checked in test_seed_fixture.py, on a workbook typed from the
    real report, not here on the generator's output."""
    paths, runs = district_run
    stem = next(r.commune.stem for r in runs if r.commune.slug == slug)
    says = _what_the_workbook_says(paths.raw_year(2022) / f"{stem}.xlsx", 2022)
    text = _text((paths.outputs_year(2022) / stem / "report.html").read_text(encoding="utf-8"))
    for what, words in says:
        # Not followed by a digit: the annex's "người 2" must not pass on "người 20".
        assert re.search(re.escape(words) + r"(?![.,]?\d)", text), f"{slug}, {what}: {words!r}"
    for motto in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"):
        assert motto in text
    positions = [text.index(heading) for heading in SECTIONS]
    assert positions == sorted(positions)
    pillars = [text.index(pillar) for pillar in PILLARS]  # section IV's, in the seed's order
    assert pillars == sorted(pillars) and pillars[0] > positions[-1]


def test_report_hides_code_and_personal_data(district_run) -> None:
    paths, _ = district_run
    html = (paths.outputs_year(2022) / "10627-nam-chinh" / "report.html").read_text(
        encoding="utf-8"
    )
    assert "report_html" not in html  # no code, not even the injected parameters
    assert "data_dir" not in html
    assert "jp-InputPrompt" not in html or "In&nbsp;[" not in html
    members = pd.read_excel(
        paths.raw_year(2022) / "10627-nam-chinh.xlsx",
        sheet_name="Thành viên",
        dtype=str,
        engine="openpyxl",
    )
    for phone in members["Số điện thoại"]:
        assert phone not in html
    executed = (paths.outputs_year(2022) / "10627-nam-chinh" / "notebook.ipynb").read_text(
        encoding="utf-8"
    )
    assert str(paths.base) not in executed and str(paths.base) not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # opens offline, calls nobody
    # The reviewer's view of the notebook: the code, then the report it displayed.
    rendered = (paths.outputs_year(2022) / "10627-nam-chinh" / "notebook.html").read_text("utf-8")
    assert "report_html" in rendered and "injected" in rendered.lower()
    injected = next(
        "".join(cell["source"])
        for cell in json.loads(executed)["cells"]
        if "injected-parameters" in cell["metadata"].get("tags", [])
    )
    assert "mã nguồn" in injected  # readable, not "m\\xe3 ngu\\u1ed3n"
    assert "Tổ công nghệ số cộng đồng" in rendered
    assert not re.search(r'(src|href)="(https?:)?//', rendered)
    assert str(paths.base) not in rendered
    for phone in members["Số điện thoại"]:
        assert phone not in rendered


def test_index_links_every_report(district_run) -> None:
    paths, _ = district_run
    index = (paths.outputs_year(2022) / "index.html").read_text(encoding="utf-8")
    for folder in ("10627-nam-chinh", "10645-an-lam"):
        assert f'href="{folder}/report.html"' in index
        assert f'href="{folder}/notebook.html"' in index
        assert (paths.outputs_year(2022) / folder / "report.html").exists()
    assert "Xã Nam Chính" in index


def test_same_inputs_give_byte_identical_html(district_run) -> None:
    paths, _ = district_run
    report = paths.outputs_year(2022) / "10627-nam-chinh" / "report.html"
    first = report.read_bytes()
    written = report.stat().st_mtime_ns
    again = run_year(
        paths, 2022, [sample_commune(2022, "nam-chinh")], workers=1, echo=None, force=True
    )
    assert [r.status for r in again] == ["ok"]  # built again, not skipped as up to date
    assert report.stat().st_mtime_ns != written
    assert report.read_bytes() == first


def test_a_broken_workbook_fails_alone(tiny_district: Paths, tmp_path) -> None:
    import shutil

    paths = Paths.under(tmp_path)
    shutil.copytree(tiny_district.raw, paths.raw)
    (paths.raw_year(2022) / "10645-an-lam.xlsx").write_bytes(b"not a workbook")
    communes = [sample_commune(2022, slug) for slug in ("nam-chinh", "an-lam")]
    runs = {
        r.commune.slug: r for r in run_year(paths, 2022, communes, workers=1, echo=lambda *_: None)
    }
    assert runs["nam-chinh"].status == "ok"
    assert runs["an-lam"].status == "failed"
    assert "10645-an-lam.xlsx" in runs["an-lam"].message
    index = (paths.outputs_year(2022) / "index.html").read_text(encoding="utf-8")
    assert "10645-an-lam.xlsx" in index


def test_a_district_changes_thresholds_and_wording_without_code(
    tiny_district: Paths, tmp_path
) -> None:
    import shutil

    from pipeline.core.config import TEMPLATES
    from pipeline.writing.options import ReportOptions

    paths = Paths.under(tmp_path / "data-home")
    shutil.copytree(tiny_district.raw, paths.raw)
    settings = tmp_path / "district" / "settings.toml"
    settings.parent.mkdir()
    settings.write_text("[limitations]\nmax_trainings = 0\n", encoding="utf-8")
    templates = tmp_path / "district" / "templates"
    templates.mkdir()
    wording = (TEMPLATES / "commune_report.html.j2").read_text(encoding="utf-8")
    (templates / "commune_report.html.j2").write_text(
        wording.replace("TỒN TẠI HẠN CHẾ, NGUYÊN NHÂN", "TỒN TẠI, HẠN CHẾ VÀ NGUYÊN NHÂN"),
        encoding="utf-8",
    )
    run_year(
        paths,
        2022,
        [sample_commune(2022, "nam-chinh")],
        workers=1,
        echo=lambda *_: None,
        options=ReportOptions(settings, templates),
    )
    html = (paths.outputs_year(2022) / "10627-nam-chinh" / "report.html").read_text("utf-8")
    assert "II. TỒN TẠI, HẠN CHẾ VÀ NGUYÊN NHÂN" in html
    assert "Do mới được tham dự lớp tập huấn" not in html  # threshold 0: one training is enough
    assert "không có điện thoại thông minh" in html  # the other rules keep their defaults
    assert str(tmp_path) not in (
        paths.outputs_year(2022) / "10627-nam-chinh" / "notebook.ipynb"
    ).read_text("utf-8")


def test_text_from_the_data_is_shown_not_run(tiny_district: Paths, tmp_path) -> None:
    import shutil

    from openpyxl import load_workbook

    paths = Paths.under(tmp_path)
    shutil.copytree(tiny_district.raw, paths.raw)
    workbook = paths.raw_year(2022) / "10627-nam-chinh.xlsx"
    book = load_workbook(workbook)
    book["Văn bản"]["E2"] = '<script>alert("x")</script> & <b>đậm</b>'
    book["Thông tin xã"]["E2"] = "<img src=x onerror=alert(1)>"
    book.save(workbook)
    run_year(paths, 2022, [sample_commune(2022, "nam-chinh")], workers=1, echo=lambda *_: None)
    html = (paths.outputs_year(2022) / "10627-nam-chinh" / "report.html").read_text("utf-8")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html and "&lt;/script&gt; &amp; &lt;b&gt;đậm&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
