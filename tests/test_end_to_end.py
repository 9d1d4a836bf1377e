"""The real path: workbooks -> cleaning -> indicators -> papermill with a real kernel -> HTML."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from pipeline.core.config import Paths
from pipeline.running.runner import run_year
from pipeline.sample import sample_commune

SEED_SECTIONS = [
    "I. KẾT QUẢ HOẠT ĐỘNG NĂM 2022",
    "II. TỒN TẠI HẠN CHẾ, NGUYÊN NHÂN",
    "III. ĐỀ XUẤT, KIẾN NGHỊ",
    "IV. PHƯƠNG HƯỚNG HOẠT ĐỘNG NĂM 2023",
]


def _text(html: str) -> str:
    """The visible text of a page: tags and styles removed, spaces folded."""
    html = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def district_run(tiny_district: Paths, tmp_path_factory):
    import shutil

    paths = Paths.under(tmp_path_factory.mktemp("run"))
    shutil.copytree(tiny_district.raw, paths.raw)
    communes = [sample_commune(2022, slug) for slug in ("nam-chinh", "an-lam")]
    runs = run_year(paths, 2022, communes, workers=2, echo=lambda *_: None)
    return paths, runs


def test_every_commune_succeeds(district_run) -> None:
    _, runs = district_run
    assert [(r.commune.slug, r.status) for r in runs] == [("nam-chinh", "ok"), ("an-lam", "ok")]


def test_nam_chinh_report_states_the_seed_facts(district_run) -> None:
    paths, _ = district_run
    text = _text(
        (paths.outputs_year(2022) / "10627-nam-chinh" / "report.html").read_text(encoding="utf-8")
    )
    for fact in (
        "Xã Nam Chính hiện có 01 Tổ công nghệ số cộng đồng (CNSCĐ) cấp xã với 20 thành viên",
        "04 Tổ CNSCĐ cấp thôn với 19 thành viên",
        "01 nhóm Zalo của Tổ CNSCĐ xã, 04 nhóm Zalo của Tổ CNSCĐ thôn",
        "Quyết định số 689/QĐ-UBND ngày 21/3/2022 của UBND tỉnh Hải Dương",
        "UBND xã Nam Chính đã ban hành Quyết định số 40/QĐ-UBND ngày 25/4/2022",
        "01 lớp tập huấn theo hình thức trực tuyến",
        "Do mới được tham dự lớp tập huấn 01 lần bằng hình thức trực tuyến",
        "không có điện thoại thông minh",
        "tổ trưởng của Tổ CNSCĐ cấp thôn từ 60 tuổi trở lên",
        "Số: 05/BC-UBND",
        "Nam Chính, ngày 05 tháng 3 năm 2023",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "TM. ỦY BAN NHÂN DÂN CHỦ TỊCH Trần Văn Xuyến",
        # The seed's sentences the data support, typed from the seed document
        # (/work/shared/seed), not from the sample generator:
        "Thực hiện Quyết định số 689/QĐ-UBND ngày 21/3/2022 của UBND tỉnh Hải Dương",
        "Tại lớp tập huấn, các thành viên được phổ biến nội dung: hướng dẫn sử dụng Cổng dịch vụ "
        "công và Hệ thống một cửa điện tử",
        "Các nhóm Zalo này đều có sự kết nối thông qua các thành viên đầu mối, đảm bảo thông tin "
        "tuyên truyền được xuyên suốt, thống nhất.",
        "Tiếp tục hỗ trợ tập huấn bằng hình thức trực tiếp hoặc trực tuyến cho các thành viên",
        "cước phí 3G/4G cho các thành viên Tổ CNSCĐ cấp thôn",
    ):
        assert fact in text, fact
    # The three pillars of section IV in the seed's order.
    pillars = [text.index(f"+ Về {p}:") for p in ("chính quyền số", "kinh tế số", "xã hội số")]
    assert pillars == sorted(pillars)
    positions = [text.index(heading) for heading in SEED_SECTIONS]
    assert positions == sorted(positions)


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
