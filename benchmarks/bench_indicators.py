"""Indicator speed: the whole catalogue for a generated year of 1,000 and 10,000 communes.

Clean tables of the size the pipeline reads (about 500 activity rows a commune) are made with
numpy, written to Parquet and read back, so the computation runs on what `data/processed` holds.
Prints wall time, peak memory and how time grows from 1,000 to 10,000 communes.

    .venv/bin/python benchmarks/bench_indicators.py [--sizes 1000 10000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.core import contract
from pipeline.measuring.indicators import CATALOGUE, compute_indicators


def _codes(rng: np.random.Generator, communes: int, per_commune: int) -> np.ndarray:
    counts = rng.integers(per_commune // 2, per_commune * 3 // 2 + 1, communes)
    return np.repeat(np.arange(communes), counts)


def synthetic_tables(communes: int, seed: int = 1) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    names = np.array([f"9{i:05d}" for i in range(communes)], dtype=object)
    tables: dict[str, pd.DataFrame] = {}
    c = _codes(rng, communes, 5)
    tables["villages"] = pd.DataFrame(
        {
            "commune_code": names[c],
            "village": [f"Thôn {i % 9 + 1}" for i in range(len(c))],
            "households": rng.integers(100, 600, len(c)),
            "population": rng.integers(400, 2400, len(c)),
        }
    )
    c = _codes(rng, communes, 40)
    tables["members"] = pd.DataFrame(
        {
            "commune_code": names[c],
            "team_level": rng.choice(["Xã", "Thôn"], len(c)),
            "village": rng.choice([f"Thôn {i}" for i in range(1, 8)], len(c)),
            "role": rng.choice(contract.ROLES, len(c), p=[0.15, 0.15, 0.7]),
            "birth_year": rng.integers(1950, 2004, len(c)),
            "smartphone": pd.array(rng.random(len(c)) > 0.1, dtype="boolean"),
        }
    )
    c = _codes(rng, communes, 2)
    tables["trainings"] = pd.DataFrame(
        {
            "commune_code": names[c],
            "date": pd.to_datetime("2022-05-01"),
            "mode": rng.choice(contract.TRAINING_MODES, len(c)),
            "participants": rng.integers(5, 45, len(c)),
        }
    )
    c = _codes(rng, communes, 500)
    services = list(contract.SERVICES)
    service = rng.choice(services, len(c))
    tables["activities"] = pd.DataFrame(
        {
            "commune_code": names[c],
            "date": pd.to_datetime("2022-01-01")
            + pd.to_timedelta(rng.integers(0, 365, len(c)), "D"),
            "pillar": pd.Series(service).map(contract.SERVICES).to_numpy(),
            "service": service,
            "channel": rng.choice(contract.CHANNELS, len(c)),
            "people": rng.integers(1, 35, len(c)),
        }
    )
    c = _codes(rng, communes, 80)
    tables["results"] = pd.DataFrame(
        {
            "commune_code": names[c],
            "month": rng.integers(1, 13, len(c)),
            "indicator": rng.choice(list(contract.RESULT_KINDS), len(c)),
            "value": rng.integers(1, 12, len(c)),
        }
    )
    c = _codes(rng, communes, 6)
    tables["zalo"] = pd.DataFrame(
        {
            "commune_code": names[c],
            "team_level": rng.choice(["Xã", "Thôn"], len(c)),
            "group_members": rng.integers(20, 300, len(c)),
        }
    )
    c = _codes(rng, communes, 2)
    tables["decisions"] = pd.DataFrame({"commune_code": names[c], "number": "1/QĐ-UBND"})
    tables["quality"] = pd.DataFrame(
        {
            "commune_code": names,
            "sheet": contract.ACTIVITIES.name,
            "rows_read": 700,
            "rows_kept": 680,
            "rows_fixed": 60,
            "rows_rejected": 20,
        }
    )
    tables["present"] = pd.DataFrame(
        [
            (n, s)
            for n in names
            for s in (
                "villages",
                "members",
                "trainings",
                "activities",
                "results",
                "zalo",
                "decisions",
            )
        ],
        columns=["commune_code", "sheet"],
    )
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    timings = {}
    for size in args.sizes:
        folder = Path(tempfile.mkdtemp(prefix=f"cnscd-indicators-{size}-"))
        for name, frame in synthetic_tables(size).items():
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        tables = {p.stem: pd.read_parquet(p) for p in folder.glob("*.parquet")}
        rows = len(tables["activities"])
        started = time.perf_counter()
        result = compute_indicators(tables, 2022, tables["present"])
        timings[size] = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{size:>6} communes  {rows:>10,} activity rows  {len(CATALOGUE)} indicators  "
            f"{len(result):>9,} values  {timings[size]:6.2f} s  peak RSS so far {peak:,.0f} MB"
        )
    if len(timings) > 1:
        (small, t_small), (large, t_large) = sorted(timings.items())[0], sorted(timings.items())[-1]
        print(f"time grows {t_large / t_small:.1f}x for {large / small:.0f}x the communes")


if __name__ == "__main__":
    main()
