"""The command line: `cnscd sample`, `cnscd run`, `cnscd indicators`."""

from __future__ import annotations

import argparse
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


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.runner import ReportOptions, run_year

    paths = _paths(args)
    failed = 0
    selections = {year: _selected(args, paths, year) for year in args.year}  # fail fast on names
    options = ReportOptions(
        Path(args.settings).resolve() if args.settings else None,
        Path(args.templates).resolve() if args.templates else None,
    )
    for given in (options.settings_file, options.templates_dir):
        if given is not None and not given.exists():
            raise PipelineError(f"{given} does not exist")
    finished = []
    for year, communes in selections.items():
        runs = run_year(paths, year, communes, workers=args.workers, options=options)
        failed += sum(r.status == "failed" for r in runs)
        finished.append((year, runs))
    for year, runs in finished:
        if len(runs) == 1 and runs[0].status == "ok":
            print(f"report: {paths.outputs_year(year) / runs[0].folder_name / 'report.html'}")
        print(f"index: {paths.outputs_year(year) / 'index.html'}")
    if failed:
        print(f"cnscd: {failed} commune report(s) failed; see the index", file=sys.stderr)
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
    run.set_defaults(func=cmd_run)

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
