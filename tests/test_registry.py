import pytest

from pipeline.errors import UnknownCommuneError
from pipeline.registry import communes_of_year, find_commune, find_district


def test_sample_district_has_its_19_communes() -> None:
    communes = communes_of_year(2022)
    assert len(communes) == 19
    assert {c.district_name for c in communes} == {"Huyện Nam Sách"}


@pytest.mark.parametrize(
    "written", ["nam-chinh", "Nam Chính", "Xã Nam Chính", "10627", "NAM CHINH"]
)
def test_commune_is_found_as_people_write_it(written: str) -> None:
    commune = find_commune(2022, written)
    assert (commune.code, commune.slug, commune.kind) == ("10627", "nam-chinh", "Xã")


def test_town_keeps_its_kind() -> None:
    town = find_commune(2022, "10606")
    assert (town.kind, town.short_name, town.slug) == ("Thị trấn", "Nam Sách", "nam-sach")


def test_unknown_commune_names_the_known_ones() -> None:
    with pytest.raises(
        UnknownCommuneError, match=r"no commune 'nam-chin' in the 2022 registry\..*nam-chinh"
    ):
        find_commune(2022, "nam-chin")


def test_merged_communes_leave_the_tree() -> None:
    # Nam Chính and Nam Trung were merged into Trần Phú from 1 December 2024.
    assert find_commune(2024, "nam-chinh").code == "10627"
    with pytest.raises(UnknownCommuneError):
        find_commune(2025, "nam-chinh")


def test_district_by_slug() -> None:
    assert len(find_district(2022, "nam-sach")) == 19
    with pytest.raises(UnknownCommuneError, match="Known districts: nam-sach"):
        find_district(2022, "kinh-mon")
