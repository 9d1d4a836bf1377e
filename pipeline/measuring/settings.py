"""The settings: the packaged `settings.toml`, overridden table by table by a district's file,
each checked against a declared schema (JSON Schema, checked with `jsonschema`) before use.

A wrong type, a value out of range or a key the product does not know is refused with one
message naming the file and the key's path (`limitations.max_trainings`), never met later as a
`TypeError` in every commune, nor ignored.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import fields
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from pipeline.core.config import PACKAGE_DIR
from pipeline.core.errors import PipelineError
from pipeline.core.limits import Limits
from pipeline.measuring.indicators import CATALOGUE

DEFAULT_SETTINGS = PACKAGE_DIR / "settings.toml"
# The files of `[cluster]`: named relative to the settings file that names them, or absolute.
CLUSTER_FILES = ("ca_file", "cert", "key")


class SettingsError(PipelineError):
    """A settings file that cannot be read or does not follow the schema."""


_COUNT = {"type": "integer", "minimum": 0}
_AMOUNT = {"type": "number", "minimum": 0}
_PERCENT = {"type": "number", "minimum": 0, "maximum": 100}
_CODE = {"anyOf": [{"type": "string", "pattern": r"^[0-9]{1,10}$"}, {"type": "integer"}]}
# A recipient line may name only the commune's {district} and {province}.
_RECIPIENT = {"type": "string", "minLength": 1, "pattern": r"^([^{}]|\{district\}|\{province\})*$"}


def _table(properties: dict, **more: object) -> dict:
    return {"type": "object", "properties": properties, "additionalProperties": False, **more}


def _target(reference_only: bool) -> dict:
    target = _table(
        {
            "value": _PERCENT,
            "text": {"type": "string", "minLength": 1},
            "source": {"type": "string"},
            "above": {"type": "boolean"},
            "reference": {"const": True} if reference_only else {"type": "boolean"},
        },
        required=["value", "text"] + (["reference"] if reference_only else []),
    )
    return target


# A target is stated as met or not only for a share (an indicator with a denominator); any
# other figure can be drawn as a reference only.
SCHEMA: dict = _table(
    {
        "limitations": _table(
            {
                "max_trainings": _COUNT,
                "min_members_without_smartphone_share": _PERCENT,
                "min_aged_leaders_share": _PERCENT,
                "min_people_guided_per_1000": _AMOUNT,
                "min_villages_without_team_share": _PERCENT,
                "name_villages_up_to": _COUNT,
                "min_log_months": {"type": "integer", "minimum": 1, "maximum": 12},
                "min_pillar_share": _PERCENT,
                "max_rows_rejected_share": _PERCENT,
            }
        ),
        # The client's certificates for a TLS scheduler (pipeline/running/cluster.py): file paths.
        "cluster": _table({name: {"type": "string"} for name in CLUSTER_FILES}),
        "comparison": _table(
            {
                "outlier_z": {"type": "number", "exclusiveMinimum": 0},
                "much_points": _PERCENT,
                "much_percent": _AMOUNT,
            }
        ),
        # By the year they are set for ("2025"), then by indicator code.
        "targets": {
            "type": "object",
            "propertyNames": {"pattern": r"^20[0-9]{2}$"},
            "additionalProperties": _table(
                {i.code: _target(reference_only=not i.denominator) for i in CATALOGUE},
            ),
        },
        "recipients": _table(
            {
                "with_districts": {"type": "array", "items": _RECIPIENT},
                "without_districts": {"type": "array", "items": _RECIPIENT},
                "province": {
                    "type": "object",
                    "propertyNames": {"pattern": r"^[0-9]{2}$"},
                    "additionalProperties": {"type": "array", "items": _RECIPIENT},
                },
            }
        ),
        "groups": {
            "type": "object",
            "propertyNames": {"minLength": 1},
            "additionalProperties": {"type": "array", "items": _CODE, "minItems": 1},
        },
        "predecessors": {
            "type": "object",
            "propertyNames": {"pattern": r"^[0-9]{1,10}$"},
            "additionalProperties": _CODE,
        },
        # The members' ages (contract.MEMBER_AGES, AGED_FROM): the package's alone.
        "members": _table(
            {
                "ages": {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 0, "maximum": 130},
                    "minItems": 2,
                    "maxItems": 2,
                },
                "aged_from": {"type": "integer", "minimum": 1, "maximum": 130},
            }
        ),
        # What a workbook may be before it is read (pipeline/core/limits.py): whole numbers.
        "limits": _table({f.name: {"type": "integer", "minimum": 1} for f in fields(Limits)}),
    }
)
_VALIDATOR = Draft202012Validator(SCHEMA)


def _key_path(error: ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path)


def _shown(value: object) -> str:
    """A value as it is written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def _describe(error: ValidationError) -> str:
    """One line for one problem, in the words of a settings file rather than of JSON Schema."""
    where = _key_path(error)
    here = f"{where}: " if where else ""
    schema, value = error.schema, error.instance
    if error.validator == "additionalProperties" and isinstance(value, dict):
        known = sorted(schema.get("properties", {}))
        unknown = sorted(set(value) - set(known))
        if where.startswith("targets."):
            listed = "`cnscd indicators` lists them"
            return f"targets: {', '.join(unknown)}: no such indicator ({listed})"
        table = f"[{where}]" if where else "the top level"
        return f"{', '.join(unknown)}: no such setting in {table}" + (
            f" (known: {', '.join(known)})" if known else ""
        )
    if error.validator == "type":
        wanted = {
            "integer": "a whole number",
            "number": "a number",
            "string": "a text in quotes",
            "boolean": "true or false",
            "array": "a list [ … ]",
            "object": "a table",
        }.get(str(error.validator_value), str(error.validator_value))
        return f"{here}{_shown(value)} is not {wanted}"
    if error.validator in ("minimum", "maximum", "exclusiveMinimum"):
        bound = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than"}
        return f"{here}{_shown(value)} must be {bound[error.validator]} {error.validator_value}"
    if error.validator == "required":
        return f"{here}{error.message.split(' is a required')[0]} is missing"
    if error.validator == "pattern" and "district" in str(error.validator_value):
        return f"{here}{_shown(value)} may name only {{district}} and {{province}}"
    if error.validator == "pattern" and where == "targets":
        return f"targets: {_shown(value)} is not a year (declared by year: [targets.2025.…])"
    if error.validator in ("pattern", "anyOf"):
        return f"{here}{_shown(value)} is not a unit's code (digits)"
    return f"{here}{error.message}"


def _not_finite(value: object, where: str = "") -> list[str]:
    """`nan` and `inf` (TOML has them) where a number is written: JSON Schema's bounds let them
    through (nan is neither above nor below a bound)."""
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{where}: {value!r} is not a number a setting can be"]
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in _not_finite(v, f"{where}.{k}".lstrip("."))]
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in _not_finite(v, f"{where}.{i}")]
    return []


def check_settings(settings: dict, source: Path | str) -> None:
    """Raise SettingsError listing every way `settings` departs from the schema."""
    errors = sorted(_VALIDATOR.iter_errors(settings), key=lambda e: list(map(str, e.path)))
    lines = [*_not_finite(settings), *dict.fromkeys(_describe(e) for e in errors)]
    if lines:
        raise SettingsError(f"settings {source}: {'; '.join(lines)}")


def read_settings_file(path: Path) -> dict:
    """A TOML file as a dict; a file that is not TOML is refused with its line and column."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line L, column C)"
        raise SettingsError(f"settings {path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"settings {path}: not UTF-8 text; save it as UTF-8") from None
    except FileNotFoundError:
        raise SettingsError(f"settings {path} does not exist") from None
    except IsADirectoryError:
        raise SettingsError(f"settings {path} is a folder, not a .toml file") from None
    except OSError as exc:
        raise SettingsError(f"settings {path} cannot be read: {exc.strerror}") from None


@lru_cache(maxsize=1)
def default_limits() -> Limits:
    """The packaged settings' limits."""
    return Limits.from_settings(load_settings())


def _files_from(settings: dict, source: Path) -> dict:
    """The settings with the files of `[cluster]` made absolute, from the folder of `source`."""
    named = settings.get("cluster", {})
    for name in CLUSTER_FILES:
        if named.get(name):
            named[name] = os.path.abspath(source.parent / Path(named[name]).expanduser())
    return settings


def load_settings(override: Path | None = None) -> dict:
    """The packaged settings, with each table a district's file names replacing the packaged
    keys it names. Both files are checked against the schema."""
    settings = _files_from(read_settings_file(DEFAULT_SETTINGS), DEFAULT_SETTINGS)
    check_settings(settings, DEFAULT_SETTINGS)
    if override is not None:
        own = read_settings_file(override)
        check_settings(own, override)
        _files_from(own, override)
        if "members" in own:
            # Cleaning and the year's indicator table read them for every commune alike: a
            # district's own ages would give two communes of one year different rules.
            raise SettingsError(
                f"settings {override}: [members] is the package's (its ages are read when cleaning "
                "and computing every commune of the year): change pipeline/settings.toml instead"
            )
        for section, entries in own.items():
            if section == "targets":  # a year's table replaces only the indicators it names
                for year, targets in entries.items():
                    settings[section].setdefault(year, {}).update(targets)
                continue
            settings.setdefault(section, {}).update(entries)
    return settings
