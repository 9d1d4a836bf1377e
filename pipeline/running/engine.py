"""A papermill engine that runs a notebook inside the current process, in a fresh namespace.

A kernel costs about a second to start and another to import pandas and matplotlib again; a
worker that reports hundreds of communes pays that once with this engine. It uses IPython's own
shell and display formatter, so the notebook it writes is the one a kernel writes: a test
compares the two engines' reports byte for byte.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import sys

from nbformat.v4 import new_output
from papermill.engines import Engine, papermill_engines
from papermill.translators import PythonTranslator, papermill_translators

ENGINE_NAME = "cnscd-inprocess"


def _shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    # No history database: a kernel's is its own, but this shell's would be one file in the
    # user's home written by every worker at once.
    shell = InteractiveShell.instance(config=Config({"HistoryManager": {"enabled": False}}))
    shell.displayhook.write_output_prompt = lambda: None  # no "Out[n]" text on stdout
    shell.displayhook.write_format_data = lambda data, md=None: None
    return shell


_frozen = 0  # how many times what lives was frozen (twice at most)


def _freeze_once() -> None:
    """After the first notebook, when pandas, matplotlib and the rest are imported, move what
    lives to the collector's permanent generation: IPython collects garbage at every reset, and
    a full collection over all those objects cost 0.1 s a notebook. What later notebooks leave
    is still collected."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = 1


def _freeze_again() -> None:
    """Right after the second notebook's reset (which has just collected every cycle), freeze
    once more: what the first report's documents built after the first freeze (nbconvert's
    exporters and templates, Typst, fonts, caches) lives on, and each reset's collection went
    over it again (42,000 objects: 27-30 ms a report, against about 11 ms after the first)."""
    global _frozen
    if _frozen == 1:
        gc.freeze()
        _frozen = 2


class InProcessEngine(Engine):
    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, cwd=None, **kwargs):

        # IPython puts its own module at sys.modules["__main__"]; the process's is put back after,
        # or a process pool or Dask cluster later started here cannot spawn its workers.
        main = sys.modules.get("__main__")
        # papermill writes the whole notebook before and after every cell, so that a dead
        # kernel's work is kept; in process there is no kernel to die, and the notebook is
        # written once when it ends (papermill's notebook_complete, after an error too).
        nb_man.save = lambda **_: None
        try:
            return cls._execute(nb_man, cwd)
        finally:
            del nb_man.save
            if main is not None:
                sys.modules["__main__"] = main
            _freeze_once()

    @classmethod
    def _execute(cls, nb_man, cwd):
        from ipykernel.ipkernel import IPythonKernel

        shell = _shell()
        # A clean namespace and a new history session: cells numbered from 1, as a new kernel's.
        shell.reset(new_session=True)
        _freeze_again()
        nb_man.nb.metadata["language_info"] = dict(IPythonKernel.language_info)  # as a kernel says
        previous = os.getcwd()
        os.chdir(cwd or previous)
        try:
            for index, cell in enumerate(nb_man.nb.cells):
                if cell.cell_type != "code":
                    continue
                nb_man.cell_start(cell, index)
                stdout, stderr = io.StringIO(), io.StringIO()
                with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                    result = shell.run_cell(cell.source, store_history=True)
                cell.execution_count = result.execution_count
                outputs = [
                    new_output("stream", name=name, text=text)
                    for name, text in (("stdout", stdout.getvalue()), ("stderr", stderr.getvalue()))
                    if text
                ]
                error = result.error_before_exec or result.error_in_exec
                if error is not None:
                    outputs.append(
                        new_output(
                            "error",
                            ename=type(error).__name__,
                            evalue=str(error),
                            traceback=shell.InteractiveTB.structured_traceback(
                                type(error), error, error.__traceback__
                            ),
                        )
                    )
                    cell.outputs = outputs
                    nb_man.cell_exception(cell, cell_index=index, exception=error)
                    nb_man.cell_complete(cell, cell_index=index)
                    break
                if result.result is not None:
                    data, metadata = shell.display_formatter.format(result.result)
                    outputs.append(
                        new_output(
                            "execute_result",
                            data=data,
                            metadata=metadata,
                            execution_count=result.execution_count,
                        )
                    )
                cell.outputs = outputs
                nb_man.cell_complete(cell, cell_index=index)
        finally:
            os.chdir(previous)
        return nb_man.nb


papermill_engines.register(ENGINE_NAME, InProcessEngine)


class ReadableParameters(PythonTranslator):
    """Injected strings as a reviewer can read them: `"mã nguồn"`, where papermill writes
    `"m\\xe3 ngu\\u1ed3n"`. A JSON string is also a Python string literal."""

    @classmethod
    def translate_escaped_str(cls, str_val):
        return json.dumps(str_val, ensure_ascii=False) if isinstance(str_val, str) else str_val


papermill_translators.register("python", ReadableParameters)
