"""Shared fixtures: a tiny sample district generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.config import Paths
from pipeline.sample import generate

TINY_COMMUNES = ("nam-chinh", "nam-trung", "an-lam")


@pytest.fixture(scope="session")
def tiny_district(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """Three communes of Nam Sách, 2022 and 2023, with fewer activity rows than the demo."""
    paths = Paths.under(tmp_path_factory.mktemp("district"))
    generate(paths.raw, years=(2022, 2023), only=TINY_COMMUNES, activity_rows=(80, 120))
    return paths


@pytest.fixture()
def district_copy(tiny_district: Paths, tmp_path: Path) -> Paths:
    """A private copy of the tiny district's raw data, for tests that run the pipeline."""
    import shutil

    paths = Paths.under(tmp_path)
    shutil.copytree(tiny_district.raw, paths.raw)
    return paths


@pytest.fixture(scope="session")
def sample_district(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """The demo's data: Nam Sách's 19 communes, 2022 and 2023, as `cnscd sample` writes them."""
    paths = Paths.under(tmp_path_factory.mktemp("sample"))
    generate(paths.raw, years=(2022, 2023))
    return paths
