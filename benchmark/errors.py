"""The one exception type the CLI turns into a one-line message and exit status 2."""

from __future__ import annotations


class XbenchError(Exception):
    """A problem with the user's input or environment, explained in one line.

    The CLI prints ``xbench: error: <message>`` and exits with status 2, without a traceback.
    Messages name what is wrong, where (file and line where there is one) and what to do.
    """

    exit_code = 2


class DataError(XbenchError):
    """A data file that cannot be read as the task's format."""

    def __init__(self, path, line: int | None, what: str, value: str | None = None):
        where = f"{path}:{line}" if line is not None else f"{path}"
        shown = f": {value!r}" if value is not None else ""
        super().__init__(f"{where}: {what}{shown}")
        self.path, self.line, self.what, self.value = path, line, what, value
