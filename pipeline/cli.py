"""The command line: `cnscd sample`, `cnscd collect`, `cnscd run`, `cnscd indicators` …"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.core.config import Paths
from pipeline.core.errors import PipelineError, UnknownCommuneError
from pipeline.core.textsafety import TerminalStream

if TYPE_CHECKING:
    from pipeline.reading.locate import Unclaimed
    from pipeline.registry.tree import Commune, Group

# The registry (and pandas under it) is imported by the commands that use it, not at start:
# an unchanged `cnscd run` is decided without it (`pipeline.running.unchanged`).


def _paths(args: argparse.Namespace) -> Paths:
    return Paths.under(args.data_dir) if args.data_dir else Paths.default()


def cmd_sample(args: argparse.Namespace) -> int:
    from pipeline.registry.tree import EXTRA_REGISTRY_NAME, find_commune
    from pipeline.sample import generate

    paths = _paths(args)
    units = None
    if args.commune:  # made-up data for real communes of the registry, to try the product
        extra = paths.raw / EXTRA_REGISTRY_NAME
        units = [find_commune(max(args.year), name, extra) for name in args.commune]
    written = generate(
        paths.raw,
        years=tuple(args.year),
        seed=args.seed,
        communes=args.communes,
        rate=args.mess_rate,
        units=units,
    )
    print(f"wrote {len(written)} workbooks under {paths.raw}")
    return 0


@dataclass
class Selection:
    """What a command works on in one year: communes with a workbook, those of a selected group
    without one (shown as missing, never as zeros), the groups to compare, stray files."""

    communes: list[Commune]
    missing: list[Commune]
    groups: list[str]
    unclaimed: list[Unclaimed]


def _groups(args: argparse.Namespace, paths: Paths, year: int) -> list[Group]:
    from pipeline.registry.tree import (
        EXTRA_REGISTRY_NAME,
        find_district,
        find_named_group,
        find_province,
    )

    extra = paths.raw / EXTRA_REGISTRY_NAME
    groups = [find_district(year, name, extra) for name in args.district or ()]
    groups += [find_province(year, name, extra) for name in args.province or ()]
    if getattr(args, "group", None):
        from pipeline.measuring.settings import load_settings

        named = load_settings(_settings_path(args)).get("groups", {})
        groups += [find_named_group(year, name, named, extra) for name in args.group]
    return groups


def _select(args: argparse.Namespace, paths: Paths, year: int) -> Selection:
    """By default the communes that have a workbook in data/raw/{year}/; `--district`,
    `--province` and `--group` select groups, `--commune` single communes (within those groups
    when given). A name several communes share is taken as the one with a workbook."""
    from pipeline.reading.locate import claim_workbooks
    from pipeline.registry.tree import (
        EXTRA_REGISTRY_NAME,
        communes_of_year,
        default_group_key,
        ended_during,
        find_commune,
    )

    extra = paths.raw / EXTRA_REGISTRY_NAME
    groups = _groups(args, paths, year)
    scope = list(dict.fromkeys(c for g in groups for c in g.communes)) if groups else None
    claimed, unclaimed = claim_workbooks(
        paths.raw_year(year), communes_of_year(year, extra), scope, ended_during(year, extra)
    )
    if args.commune:
        found = [
            find_commune(year, name, extra, within=scope, prefer=list(claimed.values()))
            for name in args.commune
        ]
        return Selection(list(dict.fromkeys(found)), [], [], unclaimed)
    if scope is not None:
        return Selection(
            [c for c in scope if c.code in claimed],
            [c for c in scope if c.code not in claimed],
            [g.key for g in groups],
            unclaimed,
        )
    communes = sorted(claimed.values(), key=lambda c: c.code)
    return Selection(communes, [], sorted({default_group_key(c) for c in communes}), unclaimed)


def _warn_unclaimed(selection: Selection, year: int) -> None:
    if selection.unclaimed:
        print(
            f"cnscd: {year}: not read, named for no commune: "
            f"{', '.join(map(str, selection.unclaimed))}; name a workbook {{code}}-{{slug}}.xlsx "
            "(`cnscd communes NAME` gives the code)",
            file=sys.stderr,
        )


def _settings_path(args: argparse.Namespace) -> Path | None:
    """--settings, checked: a file that exists and follows the settings' schema."""
    given = getattr(args, "settings", None)
    if not given:
        return None
    path = Path(given).resolve()
    if not path.is_file():
        raise PipelineError(
            f"--settings {given}: {'is a folder, not a file' if path.is_dir() else 'no such file'}"
        )
    from pipeline.measuring.settings import load_settings

    load_settings(path)  # refused now, with its file and key, rather than in every report
    return path


def _templates_dir(args: argparse.Namespace) -> Path | None:
    given = getattr(args, "templates", None)
    if not given:
        return None
    path = Path(given).resolve()
    if not path.is_dir():
        wrong = "is a file, not a folder" if path.exists() else "no such folder"
        raise PipelineError(
            f"--templates {given}: {wrong} (give the folder that holds commune_report.html.j2)"
        )
    return path


def _run_request(args: argparse.Namespace, year: int, formats: tuple) -> dict:
    """What a run of `year` was asked, as an unchanged re-run compares it
    (`pipeline.running.unchanged`): everything that selects communes or changes a report; not
    --workers, nor where the data folder is (its content is compared)."""
    return {
        "year": year,
        **{name: getattr(args, name) for name in ("commune", "district", "province", "group")},
        "formats": list(formats),
        "engine": args.engine,
        **{
            name: str(Path(getattr(args, name)).resolve()) if getattr(args, name) else None
            for name in ("settings", "templates")
        },
    }


def _unchanged(args: argparse.Namespace, paths: Paths, formats: tuple) -> bool:
    """Say so and return True when no year has changed since its recorded run, decided from
    the stage records without the registry or pandas; never with --force or a scheduler."""
    if args.force or args.scheduler:
        return False
    from pipeline.running.unchanged import replay

    years = list(dict.fromkeys(args.year))
    said = [replay(paths, year, _run_request(args, year, formats)) for year in years]
    if any(lines is None for lines in said):
        return False
    for year, lines in zip(years, said, strict=True):
        print(*lines, sep="\n")
        print(f"index: {paths.outputs_year(year) / 'index.html'}")
    return True


def _remember(args: argparse.Namespace, paths: Paths, year: int, formats: tuple, selection):
    """What a run of `year` does at its end, under the year's lock: record its state for an
    unchanged re-run when every commune and comparison ended built or up to date."""

    def after(runs: list, compared: dict) -> None:
        from pipeline.running.unchanged import forget, remember

        whole = (
            not selection.unclaimed
            and all(r.status in ("ok", "skipped") for r in runs)
            and all(c.status in ("ok", "skipped") for c in compared.values())
        )
        if not whole:
            forget(paths, year)
            return
        absent = f", {len(selection.missing)} without a workbook" if selection.missing else ""
        compared_too = f" and {len(compared)} comparison(s)" if compared else ""
        line = (
            f"{year}: nothing changed since the last run: {len(runs)} commune report(s)"
            f"{compared_too} up to date{absent} (--force rebuilds them)"
        )
        remember(paths, year, _run_request(args, year, formats), [line])

    return after


def cmd_run(args: argparse.Namespace) -> int:
    paths = _paths(args)
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    unknown = set(formats) - {"html", "pdf", "docx"}
    if unknown or "html" not in formats:
        raise PipelineError(
            f"--formats takes html, and pdf or docx or both: html,pdf,docx (got {args.formats})"
        )
    if _unchanged(args, paths, formats):
        return 0
    from pipeline.running.runner import run_and_compare, run_year
    from pipeline.writing.options import ReportOptions

    failed = 0
    selections = {year: _select(args, paths, year) for year in args.year}  # fail fast on names
    options = ReportOptions(_settings_path(args), _templates_dir(args), formats, args.engine)
    scheduler = args.scheduler
    if scheduler:
        from pipeline.running.cluster import Insecure, check_scheduler, tls_configured

        tls = scheduler.startswith("tls://") and tls_configured(options.settings()["cluster"])
        check_scheduler(scheduler, args.insecure, tls)  # before any work
        scheduler = Insecure(scheduler) if args.insecure else scheduler
    finished = []
    comparisons_failed = 0
    for year, selection in selections.items():
        _warn_unclaimed(selection, year)
        if not selection.communes and not selection.missing:
            print(
                f"{year}: no workbook in {paths.raw_year(year)}: put the communes' workbooks "
                "there ({code}-{slug}.xlsx), or run `cnscd sample`",
                file=sys.stderr,
            )
            failed += 1
            continue
        work = {
            "workers": args.workers,
            "options": options,
            "force": args.force,
            "scheduler": scheduler,
            "missing": selection.missing,
            "after": _remember(args, paths, year, formats, selection),
        }
        if selection.groups:  # the groups selected, or each commune's district (or province)
            runs, compared = run_and_compare(
                paths, year, selection.communes, selection.groups, **work
            )
            comparisons_failed += sum(r.status == "failed" for r in compared.values())
        else:
            runs = run_year(paths, year, selection.communes, **work)
        failed += sum(r.status == "failed" for r in runs)
        finished.append((year, runs))
    for year, runs in finished:
        if len(runs) == 1 and runs[0].status == "ok":
            print(f"report: {paths.outputs_year(year) / runs[0].folder_name / 'report.html'}")
        print(f"index: {paths.outputs_year(year) / 'index.html'}")
    if failed:
        print(f"cnscd: {failed} commune report(s) failed; see the index", file=sys.stderr)
    if comparisons_failed:
        print(f"cnscd: {comparisons_failed} comparison(s) failed; see the index", file=sys.stderr)
    return 1 if failed or comparisons_failed else 0


def cmd_check(args: argparse.Namespace) -> int:
    from pipeline.core.limits import Limits
    from pipeline.measuring.settings import load_settings
    from pipeline.running.preparing import check_year

    paths = _paths(args)
    settings = load_settings(_settings_path(args))  # its limits and predecessors, as run reads
    limits = Limits.from_settings(settings)
    attribution = {str(k): str(v) for k, v in settings.get("predecessors", {}).items()}
    blocked = 0
    for year in args.year:
        selection = _select(args, paths, year)
        communes = selection.communes
        _warn_unclaimed(selection, year)
        summary, problems = check_year(
            paths, year, communes, args.workers or 1, limits, attribution
        )
        by_code = summary.set_index("commune_code") if not summary.empty else None
        print(f"{year}: {len(communes)} commune(s)")
        print(f"  {'commune':<24} {'read':>6} {'kept':>6} {'fixed':>6} {'rejected':>8}  status")
        for commune in communes:
            if by_code is not None and commune.code in by_code.index:
                row = by_code.loc[commune.code]
                figures = (
                    f"{row.rows_read:>6} {row.rows_kept:>6} {row.rows_fixed:>6} "
                    f"{row.rows_rejected:>8}"
                )
            else:
                figures = f"{'-':>6} {'-':>6} {'-':>6} {'-':>8}"
            if commune.code in problems:
                status = f"BLOCKED: {problems[commune.code]}"
            else:
                reasons = by_code.loc[commune.code, "top_reasons"] if by_code is not None else ""
                status = "ok" + (f" (rejected: {reasons})" if reasons else "")
            print(f"  {commune.name:<24} {figures}  {status}")
            known = by_code is not None and commune.code in by_code.index
            unread = by_code.loc[commune.code, "unread_columns"] if known else ""
            if commune.code not in problems and unread:
                print(f"  {'':<24} columns not read (no such column in the contract): {unread}")
        for commune in selection.missing:
            print(f"  {commune.name:<24} {'-':>6} {'-':>6} {'-':>6} {'-':>8}  no workbook")
        blocked += len(problems)
    return 1 if blocked else 0


def _villages_of(path: Path, code: str, year: int) -> list[str]:
    from pipeline.reading.clean import clean_workbook
    from pipeline.reading.ingest import read_workbook

    result = clean_workbook(read_workbook(path), code, year)
    return list(result.tables["villages"]["village"].dropna())


def known_villages(paths: Paths, year: int, commune) -> list[str]:
    """The commune's villages from its latest readable workbook up to the year, if any (read in
    a process of capped memory, as every workbook is)."""
    from pipeline.core.workers import map_capped
    from pipeline.measuring.settings import default_limits
    from pipeline.reading.locate import find_workbook

    for earlier in range(year, year - 3, -1):
        try:
            path = find_workbook(paths.raw_year(earlier), commune)
        except PipelineError:
            continue
        if not path.exists():
            continue
        read = partial(_villages_of, code=commune.code, year=earlier)
        [found] = map_capped(read, [path], default_limits().worker_memory_mb)
        if isinstance(found, list):
            return found
    return []


def _dmy(iso: str) -> str:
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y")


def cmd_template(args: argparse.Namespace) -> int:
    from pipeline.reading.template import write_template
    from pipeline.registry.tree import EXTRA_REGISTRY_NAME, ended_named, find_commune

    commune = None
    villages: list[str] = []
    if args.commune:
        paths = _paths(args)
        extra = paths.raw / EXTRA_REGISTRY_NAME
        scope = [c for g in _groups(args, paths, args.year) for c in g.communes] or None
        try:
            commune = find_commune(args.year, args.commune, extra, within=scope)
        except UnknownCommuneError:
            ended = ended_named(args.year, args.commune, extra)
            if len(ended) != 1:
                raise
            commune = ended[0]  # a predecessor's months before the change: its own workbook
            print(
                f"{commune.name} ({commune.code}) ended on {_dmy(commune.valid_to)}: this "
                f"workbook holds its months of {args.year} before that day, which its successor's "
                f"report reads; put it in data/raw/{args.year}/ as {commune.stem}.xlsx"
            )
        villages = known_villages(paths, args.year, commune)
    output = (
        Path(args.output)
        if args.output
        else Path(f"{commune.stem}.xlsx" if commune else "mau-bao-cao.xlsx")
    )
    if output.exists() and not args.force:
        raise PipelineError(f"{output} exists; pass --force to overwrite it")
    write_template(output, commune, villages, args.year)
    print(f"template: {output}")
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    from pipeline.reading.collect import collect, table
    from pipeline.registry.tree import EXTRA_REGISTRY_NAME, communes_of_year

    paths = _paths(args)
    inbox = Path(args.inbox)
    communes = communes_of_year(args.year, paths.raw / EXTRA_REGISTRY_NAME)
    chosen = []
    for given in args.keep or ():  # as the table shows it (within the inbox), or any path
        path = Path(given) if Path(given).exists() else inbox / given
        if not path.exists():
            raise PipelineError(f"--keep: no file '{given}' in {inbox} (nor as a path)")
        chosen.append(path)
    keep = tuple(chosen)
    done = collect(inbox, paths.raw_year(args.year), args.year, communes, keep)
    shown = table(done.outcomes, inbox.resolve())
    if shown.empty:
        print(f"no file under {inbox}")
        return 0
    columns = ["outcome", "file", "commune", "data_year", "activity_rows", "first_date"]
    columns += ["last_date", "modified", "filed_as"]
    widths = {c: max(len(c), *(len(str(v)) for v in shown[c])) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for row in shown.itertuples(index=False):
        print("  ".join(str(getattr(row, c)).ljust(widths[c]) for c in columns).rstrip())
        if row.note:
            print(f"    {row.note}")
    counts = shown["outcome"].value_counts()
    print(
        f"{args.year}: "
        + ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
        + f"; table: {done.report}"
    )
    if done.needs_user:
        print(
            f"cnscd: {len(done.needs_user)} file(s) need you (see the notes); nothing was "
            "overwritten",
            file=sys.stderr,
        )
    return 1 if done.needs_user else 0


def cmd_compare(args: argparse.Namespace) -> int:
    from pipeline.running.bookkeeping import formats_built
    from pipeline.running.documents import comparison_folder
    from pipeline.running.runner import run_and_compare
    from pipeline.writing.options import ReportOptions

    paths = _paths(args)
    if not (args.district or args.province or args.group):
        raise PipelineError("compare needs --district, --province or --group")
    failed = 0
    # The reports it brings up to date are made as `run` makes them with the same options, so a
    # district's wording is never replaced by the packaged one.
    settings, templates = _settings_path(args), _templates_dir(args)
    for year in args.year:
        selection = _select(args, paths, year)
        _warn_unclaimed(selection, year)
        # ... and in the formats they were built in (a Word file `run` made is kept).
        built = formats_built(paths, year, selection.communes)
        options = ReportOptions(settings, templates, *((built,) if built else ()))
        # Brings the group's communes up to date; those without a workbook are shown missing.
        _, results = run_and_compare(
            paths,
            year,
            selection.communes,
            selection.groups,
            workers=args.workers,
            options=options,
            missing=selection.missing,
        )
        failed += sum(r.status == "failed" for r in results.values())
        for group in _groups(args, paths, year):
            folder = paths.outputs_year(year) / comparison_folder(group.slug)
            print(f"comparison: {folder / 'comparison.html'}")
    return 1 if failed else 0


def cmd_communes(args: argparse.Namespace) -> int:
    from pipeline.registry.tree import (
        EXTRA_REGISTRY_NAME,
        code_elsewhere,
        code_level,
        lineage_of,
        parents_named,
        predecessors,
        search,
        successors,
    )

    paths = _paths(args)
    extra = paths.raw / EXTRA_REGISTRY_NAME
    query = " ".join(args.query)
    scope = {"province": args.province, "district": args.district}
    if not args.query and not any(scope.values()):
        raise PipelineError("communes needs a name or code, or --province or --district")
    if args.query and all(word.isdigit() for word in args.query):  # several codes: each one
        found = [c for code in args.query for c in search(code, args.year, extra, **scope)]
        for code in args.query:  # a bare code's level is said, and what it is elsewhere
            others = code_elsewhere(code, args.year, extra)
            if others:
                print(
                    f"'{code}' is taken as a {code_level(code)}'s code (a province's has 1–2 "
                    "digits, a district's 3, a commune's 5, as --province and --district read "
                    f"them); written so, it would be the {'; the '.join(others)}",
                    file=sys.stderr,
                )
    else:
        found = search(query, args.year, extra, **scope)
        named = parents_named(query, args.year, extra) if query else []
        if len(named) > 1:
            print(
                f"'{query}' names {', '.join(named)}: the units of each are "
                "listed; give the name with its marks, or a code, for one",
                file=sys.stderr,
            )
    tree = f"the {args.year} tree (31/12/{args.year})" if args.year else "every tree"
    if not found:
        within = "".join(f" in {level} '{v}'" for level, v in scope.items() if v)
        print(f"no unit matches '{query}'{within} in {tree}", file=sys.stderr)
        return 1
    shown = found if args.all else found[: args.limit]
    for commune in shown:
        parents = ", ".join(  # with their codes, as --district and --province take them
            f"{name} ({code})"
            for name, code in (
                (commune.district_name, commune.district_code),
                (commune.province_name, commune.province_code),
            )
            if name
        )
        print(
            f"{commune.code}  {commune.name:<28} {commune.kind.lower():<9} "
            f"{parents:<56} {commune.validity}"
        )
        if args.lineage:  # every reform back to the first tree and on to today's unit
            for depth, change in lineage_of(commune, predecessors):
                print(f"       {'  ' * depth}← từ {change.describe()}")
            for depth, change in lineage_of(commune, successors):
                print(f"       {'  ' * depth}→ thành {change.describe()}")
    if len(shown) < len(found):
        print(f"… {len(found) - len(shown)} more (--all lists them)")
    return 0


def cmd_indicators(args: argparse.Namespace) -> int:
    from pipeline.measuring.indicators import catalogue_frame

    frame = catalogue_frame()
    for row in frame.itertuples(index=False):
        print(
            f"{row.code:<42} {row.name_vi} [{row.unit}] ({row.pillar})\n{'':<42} {row.definition}"
        )
    return 0


def _group_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--district", action="append", help="a district's code, slug or name (repeatable)"
    )
    command.add_argument(
        "--province", action="append", help="a province's code, slug or name (repeatable)"
    )
    command.add_argument(
        "--group", action="append", help="a named list of communes from [groups] in --settings"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cnscd", description=__doc__)
    parser.add_argument(
        "--data-dir",
        help="folder holding data/ and outputs/ (default: $CNSCD_HOME or the project folder)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    sample = commands.add_parser("sample", help="generate the sample district's workbooks")
    sample.add_argument(
        "--year", type=int, action="append", help="year (repeatable; default 2022 and 2023)"
    )
    sample.add_argument("--seed", type=int, default=2022)
    sample.add_argument("--communes", type=int, help="make N synthetic communes instead")
    sample.add_argument(
        "--commune",
        action="append",
        help="made-up workbooks for this commune of the registry instead (code; repeatable)",
    )
    sample.add_argument(
        "--mess-rate", type=float, default=0.03, help="share of cells made messy, per kind of mess"
    )
    sample.set_defaults(func=cmd_sample)

    run = commands.add_parser("run", help="clean, compute and report a year")
    run.add_argument("--year", type=int, action="append", required=True)
    run.add_argument("--commune", action="append", help="code, slug or name (repeatable)")
    _group_options(run)
    run.add_argument("--workers", type=int, help="parallel reports (default: the cores)")
    run.add_argument("--settings", help="a district's settings.toml overriding the thresholds")
    run.add_argument("--templates", help="a folder of templates overriding the wording")
    run.add_argument(
        "--formats",
        default="html,pdf",
        help="report formats, comma-separated: html, pdf, docx (Word, to edit before signing); "
        "default html,pdf",
    )
    run.add_argument(
        "--engine",
        choices=("kernel", "inprocess"),
        default="inprocess",
        help="inprocess (default): the notebook runs inside the worker, no kernel start; "
        "kernel: a new Jupyter kernel per report (papermill's standard), byte-identical reports",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="rebuild every report, even those whose inputs did not change",
    )
    run.add_argument(
        "--scheduler",
        default=os.environ.get("CNSCD_SCHEDULER"),
        help="run the reports on Dask: 'local' starts a LocalCluster, "
        "tcp://127.0.0.1:8786 or tls://host:8786 uses an existing scheduler ($CNSCD_SCHEDULER)",
    )
    run.add_argument(
        "--insecure",
        action="store_true",
        help="reach a scheduler on another host without TLS (plain tcp://), with a warning",
    )
    run.set_defaults(func=cmd_run)

    check = commands.add_parser("check", help="validate workbooks without building reports")
    check.add_argument("--year", type=int, action="append", required=True)
    check.add_argument("--commune", action="append", help="code, slug or name (repeatable)")
    _group_options(check)
    check.add_argument("--workers", type=int, help="parallel reading (default 1)")
    check.add_argument(
        "--settings",
        help="a district's settings.toml (as for run): its [limits], [predecessors] and [groups]",
    )
    check.set_defaults(func=cmd_check)

    template = commands.add_parser("template", help="write the blank workbook to fill")
    template.add_argument("--output", help="file to write (default: {commune}.xlsx)")
    template.add_argument("--commune", help="fill in this commune's identity")
    template.add_argument(
        "--year",
        type=int,
        default=dt.date.today().year,
        help="the year whose administrative tree --commune is in (default: this year)",
    )
    template.add_argument("--district", action="append", help="look for --commune in it")
    template.add_argument("--province", action="append", help="look for --commune in it")
    template.add_argument("--force", action="store_true", help="overwrite an existing file")
    template.set_defaults(func=cmd_template)

    collect = commands.add_parser(
        "collect",
        help="file the workbooks of an inbox folder into data/raw/{year}/ by what they hold",
    )
    collect.add_argument("inbox", help="folder of workbooks as they came (any names, subfolders)")
    collect.add_argument("--year", type=int, required=True, help="the year of the reports")
    collect.add_argument(
        "--keep",
        action="append",
        help="of two files for one commune, file this one (repeatable)",
    )
    collect.set_defaults(func=cmd_collect)

    compare = commands.add_parser("compare", help="compare the communes of a district")
    compare.add_argument("--year", type=int, action="append", required=True)
    compare.add_argument("--district", action="append", help="a district (before 7/2025)")
    compare.add_argument("--province", action="append", help="a province")
    compare.add_argument("--group", action="append", help="a named list of [groups] in --settings")
    compare.add_argument("--workers", type=int, help="parallel reports (default: the cores)")
    compare.add_argument(
        "--settings",
        help="a district's settings.toml (as for run), with [groups]: named lists of communes "
        "to compare (name = [codes])",
    )
    compare.add_argument(
        "--templates", help="a folder of templates overriding the wording (as for run)"
    )
    compare.set_defaults(func=cmd_compare, commune=None)

    communes = commands.add_parser(
        "communes", help="find units of the national registry by name or code"
    )
    communes.add_argument(
        "query",
        nargs="*",
        help="a name (any case, with or without marks), a code (1–2 digits: a province, 3: a "
        "district, 5: a commune), or a district's or province's name to list its units",
    )
    communes.add_argument("--province", help="only the units of this province (code or name)")
    communes.add_argument(
        "--district", help="only the units of this district (its 3-digit code, or name)"
    )
    communes.add_argument("--year", type=int, help="only the tree of this year (31 December)")
    communes.add_argument("--limit", type=int, default=40, help="lines shown (default 40)")
    communes.add_argument("--all", action="store_true", help="show every match")
    communes.add_argument(
        "--lineage",
        action="store_true",
        help="also what each unit was made of and what it became, through every reform",
    )
    communes.set_defaults(func=cmd_communes)

    indicators = commands.add_parser("indicators", help="print the indicator catalogue")
    indicators.set_defaults(func=cmd_indicators)
    return parser


# The stage a failure happened in, by the deepest module of the package it passed through
# (by the module's own name: `pipeline.reading.store` is `store`).
STAGES = {
    "collect": "filing the inbox",
    "ingest": "reading the workbooks",
    "clean": "cleaning the workbooks",
    "preparing": "reading and cleaning the workbooks",
    "store": "writing the clean tables",
    "computing": "computing the indicators",
    "indicators": "computing the indicators",
    "documents": "making the reports",
    "rendering": "making the reports",
    "pdf": "making the reports",
    "word": "making the reports",
    "scheduling": "making the reports",
    "compare": "making the comparison",
    "comparisons": "making the comparison",
    "exports": "writing a table",
    "sheets": "writing a table",
    "bookkeeping": "recording the run",
    "index": "writing the index",
    "template": "writing the template",
    "sample": "writing the sample",
}


def stage_of(exc: BaseException) -> str:
    """'making the reports': where in a run an exception was raised."""
    found = "running"
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        module = frame.f_globals.get("__name__", "")
        if module.startswith("pipeline."):
            found = STAGES.get(module.rsplit(".", 1)[-1], found)
    return found


def failure_message(exc: BaseException) -> str:
    """One line for an exception the commands did not expect."""
    stage = stage_of(exc)
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left" in str(exc):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return f"disk full while {stage}{where}: free some space and run again"
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror.lower()} while {stage}{where}"
    return (
        f"unexpected {type(exc).__name__} while {stage}: {exc} (a fault of cnscd: please report "
        "it with the command; CNSCD_TRACEBACK=1 shows where)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when all went well, 1 when some work failed, 2 when the command cannot be done as
    given; 130 when interrupted. Every error is one line on stderr, never a traceback."""
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalStream(sys.stdout), TerminalStream(sys.stderr)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = streams


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "year", None) is None and args.command == "sample":
        args.year = [2022, 2023, 2024, 2025]
    try:
        return args.func(args)
    except BrokenPipeError:  # `cnscd communes … | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except PipelineError as exc:
        print(f"cnscd: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C: what finished is recorded (runner.Interrupted)
        print(f"\ncnscd: {exc or 'interrupted'}", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("CNSCD_TRACEBACK"):
            raise
        print(f"cnscd: error: {failure_message(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
