"""Where a commune's workbook is in a year's raw folder, and the files no commune claims."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipeline.core.errors import InputError, PipelineError
from pipeline.core.vntext import slugify
from pipeline.registry.tree import Commune

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")  # .xls is found only to be named for what it is


def workbook_names(commune: Commune) -> tuple[str, ...]:
    """The names a commune's workbook may have, without suffix: slug, code, code-slug, and the
    code with the whole name's slug (`03658-xa-chieng-co`: the code names the commune, the
    name with or without its kind only confirms it)."""
    return commune.slug, commune.code, commune.stem, f"{commune.code}-{_full_slug(commune)}"


def _full_slug(commune: Commune) -> str:
    return slugify(commune.name)


def find_workbook(raw_year: Path, commune: Commune) -> Path:
    """The commune's workbook: `{slug}`, `{code}` or `{code}-{slug}`, as `.xlsx` (or `.xlsm`,
    whose macros are never run), or a folder of CSV files under one of those names.

    Two of them for one commune is an error: which one is the report's is the analyst's call.
    """
    found = [
        candidate
        for name in workbook_names(commune)
        for candidate in (*(raw_year / f"{name}{s}" for s in WORKBOOK_SUFFIXES), raw_year / name)
        if candidate.exists()
    ]
    if len(found) > 1:
        raise InputError(
            f"{len(found)} workbooks for commune {commune.code} ({commune.name}): "
            f"{', '.join(f.name for f in found)}; keep one in {raw_year.name}/",
            file=found[0].name,
        )
    return found[0] if found else raw_year / f"{commune.stem}.xlsx"


@dataclass(frozen=True)
class Unclaimed:
    """A workbook (or CSV folder) that no commune claims, why, and whose it probably is."""

    path: Path
    probably: Commune | None
    reason: str = ""

    @property
    def meant_name(self) -> str | None:
        """The name it was probably meant to have: `10627-nam-chinh.xlsx`."""
        if self.probably is None:
            return None
        suffix = self.path.suffix if self.path.is_file() else ""
        return f"{self.probably.stem}{suffix}"

    def __str__(self) -> str:
        if self.reason:
            return f"{self.path.name} ({self.reason})"
        return self.path.name + (f" ({self.meant_name}?)" if self.meant_name else "")


def _entries(raw_year: Path) -> list[Path]:
    """Workbooks and CSV folders of the year's raw folder. Names starting with `_`, `.` or `~$`
    (Excel's lock files) and files of other kinds (a registry, a note) are not a commune's."""
    if not raw_year.is_dir():
        return []
    return [
        entry
        for entry in sorted(raw_year.iterdir())
        if not entry.name.startswith(("_", ".", "~$"))
        and (entry.is_dir() or entry.suffix.lower() in WORKBOOK_SUFFIXES)
    ]


def _read_written_code(path: Path) -> str | None:
    from pipeline.reading.ingest import read_workbook

    try:
        table = read_workbook(path).tables["commune"]
    except PipelineError:
        return None
    if table.empty:
        return None
    written = str(table["commune_code"].iloc[0]).strip().removesuffix(".0")
    return written.zfill(5) if written.isdigit() else None


def written_code(path: Path) -> str | None:
    """The commune code a workbook gives itself on its "Thông tin xã" sheet, if it is readable:
    read in a process of capped memory, as every workbook is (a stray one may be anything)."""
    from pipeline.core.workers import map_capped
    from pipeline.measuring.settings import default_limits

    [found] = map_capped(_read_written_code, [path], default_limits().worker_memory_mb)
    return found if isinstance(found, str) else None


def _name_key(stem: str) -> str:
    return re.sub(r"^(xa|thi-tran|phuong|dac-khu)-", "", slugify(stem))


def looks_like(stem: str, commune: Commune) -> bool:
    """A file name that is probably this commune's: its code, or nearly its name."""
    code = re.search(r"\d{5,8}", stem)
    if code:
        return code.group() == commune.code
    return difflib.SequenceMatcher(None, _name_key(stem), commune.slug).ratio() >= 0.8


def _guess(stem: str, communes: list[Commune]) -> Commune | None:
    """The one commune a stray file's name points to; none where several could be meant."""
    code = re.search(r"\d{5,8}", stem)
    if code:
        return next((c for c in communes if c.code == code.group()), None)
    by_slug: dict[str, list[Commune]] = {}
    for commune in communes:
        by_slug.setdefault(commune.slug, []).append(commune)
    close = difflib.get_close_matches(_name_key(stem), list(by_slug), n=3, cutoff=0.8)
    if len(close) != 1 or len(by_slug[close[0]]) != 1:
        return None  # 'an-binh-1' is as near An Bình (sixteen communes) as An Bình B
    return by_slug[close[0]][0]


def _described(communes: list[Commune]) -> str:
    return "; ".join(c.describe() for c in communes[:6]) + (" …" if len(communes) > 6 else "")


def claim_workbooks(
    raw_year: Path,
    communes: list[Commune],
    scope: list[Commune] | None = None,
    ended: list[Commune] = (),
) -> tuple[dict[str, Commune], list[Unclaimed]]:
    """Which commune of the year's tree each workbook of the folder is, by its name.

    `{code}` and `{code}-{slug}` name one commune. A `{slug}` that several communes of the
    country share (`an-binh`) is taken within `scope` (the selected district or province) when
    given, otherwise by the code written in the workbook; failing both it is left unclaimed with
    the candidates, never guessed. A `{code}-{slug}` of a unit that `ended` during the year is
    its successor's to read (`pipeline.reading.predecessors`), neither claimed nor stray.
    Returns the communes with a workbook, by code, and the rest.
    """
    earlier = {(c.code, c.slug) for c in ended}
    by_code = {c.code: c for c in communes}

    @cache
    def by_slug() -> dict[str, list[Commune]]:  # built for a `{slug}` name only: 0.3 s
        named: dict[str, list[Commune]] = {}
        for commune in communes:
            named.setdefault(commune.slug, []).append(commune)
        return named

    in_scope = {c.code for c in scope} if scope is not None else None
    claimed: dict[str, Commune] = {}
    unclaimed: list[Unclaimed] = []
    for entry in _entries(raw_year):
        stem = entry.name if entry.is_dir() else entry.stem
        named = re.fullmatch(r"(\d{5,8})(?:-(.+))?", stem)
        here = by_code.get(named.group(1)) if named else None
        earlier_only = here is None or (
            named is not None and named.group(2) not in (here.slug, _full_slug(here))
        )
        if named and (named.group(1), named.group(2)) in earlier and earlier_only:
            continue  # a predecessor's workbook (not also a name of this year's commune)
        if named:
            commune = by_code.get(named.group(1))
            if commune is None:
                unclaimed.append(Unclaimed(entry, None, f"no commune {named.group(1)} this year"))
            elif named.group(2) and named.group(2) not in (commune.slug, _full_slug(commune)):
                suffix = entry.suffix if entry.is_file() else ""
                unclaimed.append(
                    Unclaimed(
                        entry,
                        commune,
                        f"{commune.code} is {commune.name}, not {stem}: name it "
                        f"{commune.stem}{suffix}",
                    )
                )
            else:
                claimed[commune.code] = commune
            continue
        candidates = by_slug().get(stem, [])
        if len(candidates) > 1 and in_scope is not None:
            candidates = [c for c in candidates if c.code in in_scope] or candidates
        if len(candidates) > 1:
            written = written_code(entry)
            chosen = [c for c in candidates if c.code == written]
            if not chosen:
                unclaimed.append(
                    Unclaimed(
                        entry,
                        None,
                        f"{len(candidates)} communes are called so: {_described(candidates)}; "
                        "name it {code}-{slug}",
                    )
                )
                continue
            candidates = chosen
        if candidates:
            claimed[candidates[0].code] = candidates[0]
            continue
        written = written_code(entry) if entry.suffix.lower() != ".xls" else None
        guess = by_code.get(written or "") or _guess(stem, scope or communes)
        unclaimed.append(Unclaimed(entry, guess))
    return claimed, unclaimed


def find_predecessor_workbook(
    raw_year: Path, predecessor: Commune, successor: Commune
) -> Path | None:
    """`{code}-{slug}` or `{slug}` of the predecessor, unless that is also the successor's own
    name (a unit that kept its code and name writes its earlier months in its own workbook)."""
    own = set(workbook_names(successor))
    for name in (predecessor.stem, predecessor.slug):
        if name in own:
            continue
        for candidate in (*(raw_year / f"{name}{s}" for s in WORKBOOK_SUFFIXES), raw_year / name):
            if candidate.exists():
                return candidate
    return None
