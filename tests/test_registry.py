"""The national registry: counts per tree, known codes, validity, lookups, a user's own units."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.core.errors import InputError, UnknownCommuneError
from pipeline.registry.tree import (
    communes_at,
    communes_of_year,
    find_commune,
    find_district,
    find_named_group,
    find_province,
    load_registry,
    parents_named,
    predecessors,
    search,
    successors,
    unchanged_between,
)


@pytest.mark.parametrize(
    ("day", "communes", "provinces"),
    [
        ("2023-06-30", 10_603, 63),  # the GSO tree before the 2023-2025 mergers
        ("2025-06-30", 10_035, 63),  # after the mergers, before the two-level reform
        ("2025-07-01", 3_321, 34),  # the two-level tree: 34 provinces, no districts
    ],
)
def test_counts_per_tree(day: str, communes: int, provinces: int) -> None:
    units = communes_at(pd.Timestamp(day))
    assert len(units) == communes
    assert len({u.province_code for u in units}) == provinces


def test_the_2025_tree_has_no_districts_and_13_special_zones() -> None:
    units = communes_at(pd.Timestamp("2025-07-01"))
    assert {u.district_code for u in units} == {""}
    assert sum(u.kind == "Đặc khu" for u in units) == 13


def test_no_code_is_valid_twice_at_one_date() -> None:
    frame = load_registry()
    for day in pd.to_datetime(
        ["2022-01-01", "2024-11-30", "2024-12-01", "2025-06-30", "2026-01-01"]
    ):
        valid = frame[(frame["start"] <= day) & (frame["end"] >= day)]
        assert not valid["code"].duplicated().any(), day


@pytest.mark.parametrize(
    ("year", "code", "name", "parent"),
    [
        (2022, "10627", "Xã Nam Chính", "Huyện Nam Sách, Tỉnh Hải Dương"),
        (2022, "10633", "Xã Nam Trung", "Huyện Nam Sách, Tỉnh Hải Dương"),
        (2024, "10633", "Xã Trần Phú", "Huyện Nam Sách, Tỉnh Hải Dương"),  # from 1/12/2024
        (2025, "10633", "Xã Trần Phú", "Thành phố Hải Phòng"),  # a third territory
        (2022, "00001", "Phường Phúc Xá", "Quận Ba Đình, Thành phố Hà Nội"),
    ],
)
def test_known_codes(year: int, code: str, name: str, parent: str) -> None:
    commune = find_commune(year, code)
    assert (commune.name, commune.parent) == (name, parent)


def test_the_sample_district_has_its_19_communes() -> None:
    district = find_district(2022, "nam-sach")
    assert len(district.communes) == 19
    assert (district.code, district.name, district.word) == ("291", "Huyện Nam Sách", "huyện")
    assert district.key == "district:291" and district.slug == "291-nam-sach"


@pytest.mark.parametrize("written", ["10627", "Xã Nam Chính", "NAM CHINH", "nam-chinh"])
def test_a_commune_is_found_as_people_write_it_within_its_district(written: str) -> None:
    within = list(find_district(2022, "291").communes)
    commune = find_commune(2022, written, within=within)
    assert (commune.code, commune.slug, commune.kind) == ("10627", "nam-chinh", "Xã")


def test_a_name_several_communes_share_is_refused_with_the_candidates() -> None:
    with pytest.raises(UnknownCommuneError) as error:
        find_commune(2022, "Nam Chính")
    message = str(error.value)
    assert "names 3 communes" in message
    assert "10627 Xã Nam Chính (Huyện Nam Sách, Tỉnh Hải Dương" in message
    assert "13045 Xã Nam Chính (Huyện Tiền Hải, Tỉnh Thái Bình" in message


def test_a_shared_name_is_the_one_with_a_workbook() -> None:
    with_workbook = [find_commune(2022, "23206")]
    assert find_commune(2022, "nam-chinh", prefer=with_workbook).code == "23206"


def test_a_typed_code_must_be_whole_but_a_number_gets_its_zeros() -> None:
    with pytest.raises(UnknownCommuneError):
        find_commune(2022, "1")  # not Phúc Xá (00001)
    assert find_commune(2022, 1).code == "00001"  # papermill parses -p commune 00001 as 1


def test_town_keeps_its_kind() -> None:
    town = find_commune(2022, "10606")
    assert (town.kind, town.short_name, town.slug) == ("Thị trấn", "Nam Sách", "nam-sach")


def test_unknown_commune_suggests_close_names() -> None:
    with pytest.raises(
        UnknownCommuneError, match=r"no commune 'nam-chin'.*Did you mean: nam-chinh"
    ):
        find_commune(2022, "nam-chin")


def test_a_unit_that_ended_during_the_year_says_so() -> None:
    # Nam Chính and Nam Trung were merged into Trần Phú from 1 December 2024: the 2024 report
    # is written by Trần Phú, the unit of 31/12/2024.
    assert find_commune(2023, "10627").name == "Xã Nam Chính"
    with pytest.raises(UnknownCommuneError, match=r"10627 Xã Nam Chính.*đến 30/11/2024"):
        find_commune(2024, "10627")


def test_province_and_city_of_one_name_are_told_apart() -> None:
    with pytest.raises(UnknownCommuneError, match=r"Tỉnh Hải Dương \(30\) is a province"):
        find_district(2022, "Tỉnh Hải Dương")
    with pytest.raises(UnknownCommuneError, match="no district '30'"):
        find_district(2022, "30")  # a district's code is three digits
    province = find_province(2022, "Hải Dương")
    assert (province.code, province.name, province.word) == ("30", "Tỉnh Hải Dương", "tỉnh")
    assert len(province.communes) == 235
    city = find_district(2022, "Hải Dương")  # the only district of that name: the city
    assert (city.code, city.word) == ("288", "thành phố")


def test_a_district_name_shared_across_provinces_lists_the_candidates() -> None:
    with pytest.raises(UnknownCommuneError) as error:
        find_district(2022, "Châu Thành")
    assert "names 10 districts" in str(error.value)
    assert "892 Huyện Châu Thành (Tỉnh An Giang)" in str(error.value)


def test_a_name_written_with_its_marks_is_the_one_it_spells() -> None:
    # Without marks "Tam Duong" is both Tam Đường (Lai Châu) and Tam Dương (Vĩnh Phúc).
    assert find_district(2024, "Tam Đường").code == "106"
    assert find_district(2024, "huyện tam dương").code == "247"
    with pytest.raises(UnknownCommuneError, match="names 2 districts"):
        find_district(2024, "Tam Duong")
    # `cnscd communes` lists the units of the one spelled, of both when the marks are left out.
    assert parents_named("Tam Đường", 2024) == ["Huyện Tam Đường"]
    assert {c.district_code for c in search("Tam Đường", 2024)} == {"106"}
    assert parents_named("Tam Duong", 2024) == ["Huyện Tam Dương", "Huyện Tam Đường"]
    assert {c.district_code for c in search("Tam Duong", 2024)} == {"106", "247"}
    # A city and its province of one name: the units of each, so the province's whole.
    assert parents_named("Lai Châu", 2024) == ["Thành phố Lai Châu", "Tỉnh Lai Châu"]
    lai_chau = search("Lai Châu", 2024)
    assert {c.province_name for c in lai_chau} == {"Tỉnh Lai Châu"} and len(lai_chau) > 100


def test_after_july_2025_there_are_no_districts() -> None:
    with pytest.raises(UnknownCommuneError, match="has no districts"):
        find_district(2025, "nam-sach")
    city = find_province(2025, "Hải Phòng")
    assert (city.code, city.word, len(city.communes)) == ("31", "thành phố", 114)


def test_named_group() -> None:
    group = find_named_group(2022, "Cụm Nam", {"Cụm Nam": ["10627", "10645"]})
    assert [c.code for c in group.communes] == ["10627", "10645"]
    assert (group.key, group.slug, group.word) == ("group:cum-nam", "nhom-cum-nam", "nhóm")


def test_the_same_unit_across_years_is_known() -> None:
    assert "10627" in unchanged_between(2023, 2022)
    assert "10633" not in unchanged_between(2025, 2024)  # same code and name, other territory


def test_search_without_marks_by_code_and_by_parent() -> None:
    found = search("nam chinh", 2022)
    assert {c.code for c in found} == {"10627", "13045", "23206"}
    assert [c.name for c in search("10633")] == ["Xã Nam Trung", "Xã Trần Phú", "Xã Trần Phú"]
    assert len(search("Nam Sách", 2022)) == 19


def _own(tmp_path, *rows: str):
    path = tmp_path / "communes.csv"
    header = (
        "commune_code,commune_name,district_code,district_name,province_code,province_name,"
        "valid_from,valid_to"
    )
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_own_units_are_added(tmp_path) -> None:
    path = _own(tmp_path, "900001,Xã Mẫu,9001,Huyện Mẫu,99,Tỉnh Mẫu,,")
    assert find_commune(2022, "900001", path).name == "Xã Mẫu"


def test_an_own_unit_the_registry_has_is_refused(tmp_path) -> None:
    path = _own(tmp_path, "10627,Xã Nam Chính,291,Huyện Nam Sách,30,Tỉnh Hải Dương,,")
    with pytest.raises(InputError) as error:
        communes_of_year(2022, path)
    message = str(error.value)
    assert "file communes.csv, row 2, column commune_code" in message
    assert "code 10627 is already in the national registry as 10627 Xã Nam Chính" in message


def test_an_own_unit_after_the_registry_entry_ends_is_allowed(tmp_path) -> None:
    path = _own(tmp_path, "10627,Xã Nam Chính mới,291,Huyện Nam Sách,30,Tỉnh Hải Dương,2030-01-01,")
    assert find_commune(2030, "10627", path).name == "Xã Nam Chính mới"


@pytest.mark.parametrize("code", ["../../../victim", "12", "1062a"])
def test_an_own_unit_code_must_be_digits(tmp_path, code: str) -> None:
    path = _own(tmp_path, f"{code},Xã X,9001,Huyện X,99,Tỉnh X,,")
    with pytest.raises(InputError, match=r"row 2, column commune_code.*not a commune code"):
        communes_of_year(2022, path)


def test_lineage_follows_the_seed_commune_through_both_reforms() -> None:
    nam_chinh = find_commune(2022, "10627")
    [merged] = successors(nam_chinh)
    assert (merged.other.code, merged.other.name, merged.date) == (
        "10633",
        "Xã Trần Phú",
        "2024-12-01",
    )
    assert {c.other.name for c in predecessors(merged.other)} == {"Xã Nam Chính", "Xã Nam Trung"}
    [reformed] = successors(merged.other)
    assert (reformed.other.parent, reformed.date) == ("Thành phố Hải Phòng", "2025-07-01")
    assert {c.other.name for c in predecessors(reformed.other)} == {
        "Xã Trần Phú",
        "Xã Hiệp Cát",
        "Xã Quốc Tuấn",
    }


def test_a_split_predecessor_is_marked_with_its_main_successor() -> None:
    cong_hoa = find_commune(2024, "10639")
    changes = successors(cong_hoa)
    assert len(changes) == 3 and all(c.split for c in changes)
    assert [c.other.name for c in changes if c.main] == ["Xã An Phú"]


def test_every_link_of_the_lineage_joins_two_entries_of_the_registry() -> None:
    from pipeline.registry.tree import lineage, packaged_registry

    links, units = lineage(), packaged_registry()
    ends = set(zip(units["code"], units["valid_to"], strict=True))
    starts = set(zip(units["code"], units["valid_from"], strict=True))
    assert set(zip(links["from_code"], links["from_valid_to"], strict=True)) <= ends
    assert set(zip(links["to_code"], links["to_valid_from"], strict=True)) <= starts
    after_reform = links[links["date"] == "2025-07-01"]
    # Every unit just before 1 July 2025 has a successor in the two-level tree.
    assert after_reform["from_code"].nunique() == 10_035
