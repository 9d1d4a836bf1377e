"""How large a figure can be for the commune it belongs to (`contract.BOUNDS`): a level up to its
own base, a flow of the year up to a multiple of the population, a session up to the commune's
population. A row above its bound is rejected with the bound named, so that the report says
the figure was lost (never a wrong one printed as fact) and the commune can correct it.
"""

from __future__ import annotations

import pandas as pd

from pipeline.core import contract
from pipeline.measuring.indicators import Inputs

BASES = ("population", "adults", "people_15", "households")
# A count above its bound is as impossible for its commune as a negative one: the same reason
# code, with a text naming the bound.
BEYOND_BOUND = "impossible_count"


def commune_bases(villages: pd.DataFrame, commune: pd.DataFrame) -> pd.DataFrame:
    """Each commune's bases (index: commune code), as the indicators count them (the villages'
    sum where every village gives it, else the commune sheet's total); unknown is NaN."""
    inputs = Inputs({"villages": villages, "commune": commune}, 0)
    return pd.DataFrame({base: inputs.denominator(base) for base in BASES})


def _grouped(bound: float) -> str:
    return f"{int(bound):,}".replace(",", ".")


def _limit(bound: contract.Bound, bases: dict[str, float]) -> tuple[float, str]:
    """The bound of one figure in one commune, and how the reason names it."""
    for base, words in ((bound.base, bound.words), ("population", "dân số")):
        known = bases.get(base)
        if known is not None and known == known:  # not NaN
            return known * bound.multiple, f"{words} của toàn đơn vị"
    return contract.POPULATION_CEILING * bound.multiple, "dân số lớn nhất của một đơn vị cấp xã"


# A flow's rows add up to the year's figure: their sum is bounded too.
_FLOWS = frozenset(contract.RESULT_KINDS.values())


def beyond_bounds(
    keys: pd.Series, values: pd.Series, codes: pd.Series, bases: pd.DataFrame
) -> pd.Series:
    """For each row, why its value is above the bound of its figure (`keys`: a code of
    `contract.BOUNDS` or None) in its commune (`codes`), else None; for a flow of the year, why
    the sum of its rows is (each row then says so). A base the commune does not give falls back
    to its population, then to `contract.POPULATION_CEILING`."""
    why = pd.Series(None, index=values.index, dtype=object)
    numbers = pd.to_numeric(values, errors="coerce")
    by_commune = bases.to_dict("index")
    for key, bound in contract.BOUNDS.items():
        mine = keys.eq(key).fillna(False).astype(bool) & numbers.notna()
        if not mine.any():
            continue
        limits = {code: _limit(bound, by_commune.get(code, {})) for code in codes[mine].unique()}
        limit = codes[mine].map(lambda code, limits=limits: limits[code][0])
        above = numbers[mine] > limit
        for row in above[above].index:
            top, words = limits[codes[row]]
            why[row] = f"Lớn hơn {bound.times}{words} ({_grouped(top)}): kiểm tra lại số đã ghi"
        if key not in _FLOWS:
            continue
        rest = mine & why.isna()
        year = numbers[rest].groupby(codes[rest]).sum()
        for code, total in year.items():
            top, words = limits[code]
            if total <= top:
                continue
            why[rest & codes.eq(code)] = (
                f"Tổng cả năm của chỉ tiêu này ({_grouped(total)}) lớn hơn {bound.times}{words} "
                f"({_grouped(top)}): kiểm tra lại các số đã ghi"
            )
    return why
