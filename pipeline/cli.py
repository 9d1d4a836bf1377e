"""The command line: `cnscd sample`, `cnscd run`, `cnscd indicators`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.config import Paths
from pipeline.errors import PipelineError
from pipeline.registry import EXTRA_REGISTRY_NAME, communes_of_year, find_commune, find_district


def _paths(args: argparse.Namespace) -> Paths:
    return Paths.under(args.data_dir) if args.data_dir else Paths.default()


def cmd_sample(args: argparse.Namespace) -> int:
    from pipeline.sample import generate

    paths = _paths(args)
    written = generate(
        paths.raw,
        years=tuple(args.year),
        seed=args.seed,
        communes=args.communes,
        rate=args.mess_rate,
    )
    print(f"wrote {len(written)} workbooks under {paths.raw}")
    return 0


def _selected(args: argparse.Namespace, paths: Paths, year: int):
    extra = paths.raw / EXTRA_REGISTRY_NAME
    if args.commune:
        return [find_commune(year, name, extra) for name in args.commune]
    if args.district:
        return [c for name in args.district for c in find_district(year, name, extra)]
    return communes_of_year(year, extra)


def _warn_unclaimed(paths: Paths, year: int) -> None:
    from pipeline.locate import unclaimed_files

    registry = communes_of_year(year, paths.raw / EXTRA_REGISTRY_NAME)
    unclaimed = unclaimed_files(paths.raw_year(year), registry)
    if unclaimed:
        print(
            f"cnscd: {year}: not read, named for no commune: "
            f"{', '.join(map(str, unclaimed))}; name a workbook {{slug}}.xlsx or {{code}}.xlsx",
            file=sys.stderr,
        )


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.runner import ReportOptions, run_year

    paths = _paths(args)
    failed = 0
    selections = {year: _selected(args, paths, year) for year in args.year}  # fail fast on names
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    unknown = set(formats) - {"html", "pdf"}
    if unknown or "html" not in formats:
        raise PipelineError(f"--formats takes html or html,pdf (got {args.formats})")
    options = ReportOptions(
        Path(args.settings).resolve() if args.settings else None,
        Path(args.templates).resolve() if args.templates else None,
        formats,
        args.engine,
    )
    for given in (options.settings_file, options.templates_dir):
        if given is not None and not given.exists():
            raise PipelineError(f"{given} does not exist")
    finished = []
    for year, communes in selections.items():
        _warn_unclaimed(paths, year)
        runs = run_year(
            paths,
            year,
            communes,
            workers=args.workers,
            options=options,
            force=args.force,
            scheduler=args.scheduler,
        )
        failed += sum(r.status == "failed" for r in runs)
        finished.append((year, runs))
    if not args.commune:  # a district, or the whole year: compare each district's communes
        from pipeline.runner import run_comparisons

        for year, runs in finished:
            groups = sorted({r.commune.district_slug for r in runs})
            run_comparisons(paths, year, groups, options)
    for year, runs in finished:
        if len(runs) == 1 and runs[0].status == "ok":
            print(f"report: {paths.outputs_year(year) / runs[0].folder_name / 'report.html'}")
        print(f"index: {paths.outputs_year(year) / 'index.html'}")
    if failed:
        print(f"cnscd: {failed} commune report(s) failed; see the index", file=sys.stderr)
    return 1 if failed else 0


def cmd_check(args: argparse.Namespace) -> int:
    from pipeline.runner import check_year

    paths = _paths(args)
    blocked = 0
    for year in args.year:
        communes = _selected(args, paths, year)
        _warn_unclaimed(paths, year)
        summary, problems = check_year(paths, year, communes, workers=args.workers or 1)
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
        blocked += len(problems)
    return 1 if blocked else 0


def known_villages(paths: Paths, year: int, commune) -> list[str]:
    """The commune's villages from its latest readable workbook up to the year, if any."""
    from pipeline.clean import clean_workbook
    from pipeline.ingest import read_workbook
    from pipeline.locate import find_workbook

    for earlier in range(year, year - 3, -1):
        try:
            path = find_workbook(paths.raw_year(earlier), commune)
            if not path.exists():
                continue
            result = clean_workbook(read_workbook(path), commune.code, earlier)
        except PipelineError:
            continue
        return list(result.tables["villages"]["village"].dropna())
    return []


def cmd_template(args: argparse.Namespace) -> int:
    from pipeline.template import write_template

    commune = None
    villages: list[str] = []
    if args.commune:
        paths = _paths(args)
        commune = find_commune(args.year, args.commune, paths.raw / EXTRA_REGISTRY_NAME)
        villages = known_villages(paths, args.year, commune)
    output = (
        Path(args.output)
        if args.output
        else Path(f"{commune.slug if commune else 'mau-bao-cao'}.xlsx")
    )
    if output.exists() and not args.force:
        raise PipelineError(f"{output} exists; pass --force to overwrite it")
    write_template(output, commune, villages)
    print(f"template: {output}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from pipeline.registry import find_group
    from pipeline.runner import ReportOptions, comparison_folder, run_comparisons, run_year

    paths = _paths(args)
    failed = 0
    for year in args.year:
        options = ReportOptions(Path(args.settings).resolve() if args.settings else None)
        from pipeline.narrative import load_settings

        groups = load_settings(options.settings_file).get("groups")
        slug, _, communes = find_group(year, args.district, paths.raw / EXTRA_REGISTRY_NAME, groups)
        run_year(paths, year, communes, workers=args.workers)  # brings the communes up to date
        results = run_comparisons(paths, year, [slug], options)
        failed += sum(r.status == "failed" for r in results.values())
        print(
            f"comparison: {paths.outputs_year(year) / comparison_folder(slug) / 'comparison.html'}"
        )
    return 1 if failed else 0


def cmd_indicators(args: argparse.Namespace) -> int:
    from pipeline.indicators import catalogue_frame

    frame = catalogue_frame()
    for row in frame.itertuples(index=False):
        print(
            f"{row.code:<42} {row.name_vi} [{row.unit}] ({row.pillar})\n{'':<42} {row.definition}"
        )
    return 0


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
        "--mess-rate", type=float, default=0.03, help="share of cells made messy, per kind of mess"
    )
    sample.set_defaults(func=cmd_sample)

    run = commands.add_parser("run", help="clean, compute and report a year")
    run.add_argument("--year", type=int, action="append", required=True)
    run.add_argument("--commune", action="append", help="code, slug or name (repeatable)")
    run.add_argument("--district", action="append", help="code, slug or name (repeatable)")
    run.add_argument("--workers", type=int, help="parallel reports (default: the cores)")
    run.add_argument("--settings", help="a district's settings.toml overriding the thresholds")
    run.add_argument("--templates", help="a folder of templates overriding the wording")
    run.add_argument(
        "--formats",
        default="html,pdf",
        help="report formats, comma-separated: html, pdf (default both)",
    )
    run.add_argument(
        "--engine",
        choices=("kernel", "inprocess"),
        default="kernel",
        help="kernel: a new Jupyter kernel per report (papermill's standard); inprocess: the "
        "notebook runs inside the worker, no kernel start, byte-identical reports",
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
        "tcp://host:8786 uses an existing scheduler ($CNSCD_SCHEDULER)",
    )
    run.set_defaults(func=cmd_run)

    check = commands.add_parser("check", help="validate workbooks without building reports")
    check.add_argument("--year", type=int, action="append", required=True)
    check.add_argument("--commune", action="append", help="code, slug or name (repeatable)")
    check.add_argument("--district", action="append", help="code, slug or name (repeatable)")
    check.add_argument("--workers", type=int, help="parallel reading (default 1)")
    check.set_defaults(func=cmd_check)

    template = commands.add_parser("template", help="write the blank workbook to fill")
    template.add_argument("--output", help="file to write (default: {commune}.xlsx)")
    template.add_argument("--commune", help="fill in this commune's identity")
    template.add_argument("--year", type=int, default=2022, help="registry year for --commune")
    template.add_argument("--force", action="store_true", help="overwrite an existing file")
    template.set_defaults(func=cmd_template)

    compare = commands.add_parser("compare", help="compare the communes of a district")
    compare.add_argument("--year", type=int, action="append", required=True)
    compare.add_argument(
        "--district",
        required=True,
        help="district (or, after the July 2025 reform, province): slug, code or name",
    )
    compare.add_argument("--workers", type=int, help="parallel reports (default: the cores)")
    compare.add_argument(
        "--settings",
        help="settings.toml with [groups]: named lists of communes to compare (name = [codes])",
    )
    compare.set_defaults(func=cmd_compare)

    indicators = commands.add_parser("indicators", help="print the indicator catalogue")
    indicators.set_defaults(func=cmd_indicators)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "year", None) is None and args.command == "sample":
        args.year = [2022, 2023]
    try:
        return args.func(args)
    except PipelineError as exc:
        print(f"cnscd: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
