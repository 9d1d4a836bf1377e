"""A group's comparison (a district, a province, a named list), built again only when its
communes' figures or statuses, its code, settings, templates or parameters changed
(`nodes.COMPARISON`); one group's failure is recorded and the others go on."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable

import pandas as pd

from pipeline.core.config import Paths
from pipeline.core.provenance import hash_path
from pipeline.reading.store import INDICATORS_FILE
from pipeline.registry.tree import EXTRA_REGISTRY_NAME
from pipeline.running import nodes, stages
from pipeline.running.bookkeeping import (
    commune_digests,
    earlier_comparison,
    failure_line,
    keep_only,
    stored_inputs,
    swap_in,
    write_year_index,
)
from pipeline.running.documents import (
    comparison_folder,
    execute_comparison,
    group_of,
    output_folder,
)
from pipeline.running.locking import year_lock
from pipeline.running.rendering import Produced
from pipeline.writing.index import FAILED_NOTEBOOK, read_status, write_status
from pipeline.writing.options import ReportOptions


def compare_groups(
    paths: Paths,
    year: int,
    groups: list[str],
    options: ReportOptions = ReportOptions(),
    echo: Callable[[str], object] = print,
    force: bool = False,
) -> dict[str, Produced]:
    """Each group's comparison (the caller writes the index after them, so that it links
    them)."""
    results: dict[str, Produced] = {}
    indicators_path = paths.processed_year(year) / INDICATORS_FILE
    if not indicators_path.exists():
        echo(f"{year}: no commune has data yet, so no comparison")
        return results
    figures = commune_digests(pd.read_parquet(indicators_path), ("indicator",))
    code = stages.code_inputs(nodes.COMPARISON)
    shared = {**options.digests(), "own units": hash_path(paths.raw / EXTRA_REGISTRY_NAME)}
    for group in groups:
        _compare_group(paths, year, group, code, shared, figures, options, echo, force, results)
    return results


def _compare_group(
    paths: Paths,
    year: int,
    group: str,
    code: dict[str, str],
    shared: dict[str, str],
    figures: dict[str, str],
    options: ReportOptions,
    echo: Callable[[str], object],
    force: bool,
    results: dict[str, Produced],
) -> None:
    """One group's comparison, built again when its inputs changed; its outcome in `results`."""
    found = group_of(paths, year, group, options)
    folder = paths.output_dir(year, comparison_folder(found.slug))
    members = sorted(c.code for c in found.communes)
    statuses = {
        c.code: {
            k: (read_status(paths.output_dir(year, output_folder(c))) or {}).get(k)
            for k in ("status", "message")
        }
        for c in found.communes
    }
    parameters = {"group": group, "year": year, "formats": list(options.formats)}
    inputs = stages.inputs_of(
        nodes.COMPARISON,
        {
            **shared,
            "indicators": stages.digest({c: figures.get(c, "") for c in members}),
            "statuses": stages.digest(statuses),
            "parameters": stages.digest(parameters),
        },
        code=code,
    )
    stored, broken = stored_inputs(folder)
    reason = "--force" if force else broken or stages.why(stored, inputs)
    if not reason:
        echo(f"{year}: comparison {found.name}: up to date")
        results[group] = Produced("skipped")
        return
    # Built beside the earlier comparison and swapped in only when complete: a failure leaves
    # the earlier one whole, recorded as earlier (the index says so), never as this run's.
    staging = paths.outputs_year(year) / ".work" / f"{folder.name}.new"
    shutil.rmtree(staging, ignore_errors=True)
    earlier = earlier_comparison(folder)
    try:
        try:
            done = execute_comparison(paths, year, group, options, out_dir=staging)
        except Exception as exc:  # one group's failure is recorded; the others and the index go on
            done = Produced("failed", failure_line(exc))
        if done.status == "failed":
            folder.mkdir(parents=True, exist_ok=True)
            keep_only(folder, list(earlier["outputs"]) if earlier else [])
            failed_notebook = staging / "notebook.html"
            if "notebook.html" in done.files and failed_notebook.is_file():
                failed_notebook.replace(folder / FAILED_NOTEBOOK)  # where the error is shown
            done.files = [FAILED_NOTEBOOK] if (folder / FAILED_NOTEBOOK).exists() else []
        else:
            swap_in(staging, folder, done.files)
            earlier = None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):  # .work itself, once nothing else works in it
            staging.parent.rmdir()
    results[group] = done
    write_status(
        folder,
        {
            "name": found.name,
            "status": done.status,
            "message": done.message,
            "key": stages.key_of(inputs),
            "inputs": inputs,
            "outputs": {name: hash_path(folder / name) for name in done.files},
            **({"earlier": earlier} if earlier else {}),
        },
    )
    echo(
        f"{year}: comparison {found.name}: {done.status} ({reason})"
        + (f" - {done.message}" if done.message else "")
        + ("; the earlier comparison is kept, marked as earlier" if earlier else "")
        + "".join(f"; warning: {note}" for note in done.notes)
    )


def run_comparisons(
    paths: Paths,
    year: int,
    groups: list[str],
    options: ReportOptions = ReportOptions(),
    echo: Callable[[str], object] = print,
    force: bool = False,
) -> dict[str, Produced]:
    """Each group's comparison, then the index again so that it links them (one run at a time).

    A comparison is built again when its communes' figures or statuses, the code, the settings
    or templates or its parameters changed; `force` builds it in any case."""
    with year_lock(paths.outputs_year(year)):
        try:
            return compare_groups(paths, year, groups, options, echo, force)
        finally:  # the index says what was built, even when a comparison stopped the run
            write_year_index(paths, year)
