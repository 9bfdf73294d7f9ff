"""Published numbers shown beside a report: where a task's reference CSV lives and how it is read.

A reference is a file of per-language F1 (``lang,en_to_x``) from a paper; the report shows it for
orientation only. Reading it is separate from the analysis so that a bad file is one clear line
before any bootstrap runs.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from benchmark.errors import XbenchError

REFERENCE_ENV = "XBENCH_REFERENCE"


def default_reference(name: str = "rahimi2019.csv") -> Path:
    """A task's published numbers (``reference:`` in its task file), where the project's ``shared/``
    folder puts them; ``$XBENCH_REFERENCE`` overrides."""
    if os.environ.get(REFERENCE_ENV):
        return Path(os.environ[REFERENCE_ENV])
    return Path(__file__).resolve().parents[3] / "shared" / "reference" / name


def read_reference(path: Path, required: bool = False) -> dict[str, float]:
    """Published F1 (%) per language from a CSV with columns ``lang,en_to_x``; {} when the default
    file is absent. A file given by hand that is missing or malformed is one clear line."""
    import math

    if not path.is_file():
        if required:
            raise XbenchError(f"--reference {path}: no such file")
        return {}
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise XbenchError(f"{path}: reference file is not UTF-8 text; save it as a UTF-8 CSV with columns "
                          "lang,en_to_x") from None
    except OSError as err:
        raise XbenchError(f"{path}: cannot read the reference file ({err.strerror})") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    if not {"lang", "en_to_x"} <= set(columns):
        raise XbenchError(f"{path}: a reference file needs the columns lang,en_to_x; its header is "
                          f"{','.join(columns) or '(empty)'}")
    reference = {}
    for row in reader:
        value = (row.get("en_to_x") or "").strip()
        if not value:
            continue
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not math.isfinite(number) or not 0 <= number <= 100:
            raise XbenchError(f"{path}:{reader.line_num}: en_to_x {value!r} is not an F1 in % (a number from 0 to 100)")
        reference[row["lang"]] = number
    return reference
