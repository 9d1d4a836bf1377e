"""Errors a user can cause. Each message says what is wrong and how to fix it."""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the command line turns into one clear message."""


class InputError(PipelineError):
    """A problem in an analyst's file, located as precisely as we know it."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file, self.sheet, self.row, self.column = file, sheet, row, column
        where = ", ".join(
            f"{label} {value}"
            for label, value in (("file", file), ("sheet", sheet), ("row", row), ("column", column))
            if value is not None
        )
        super().__init__(f"{where}: {message}" if where else message)


class UnknownCommuneError(PipelineError):
    """A commune or district name that the registry does not know."""


class ParameterError(PipelineError):
    """A notebook parameter that is missing or unknown."""


class ReportError(PipelineError):
    """A commune's report failed to build."""
