"""Settings a user sets once: the data, results, reports and cache folders.

Each setting comes from the first of: the command-line flag; an environment variable; the
project file (``xbench.toml``, or ``[tool.xbench]`` in a ``pyproject.toml``, the nearest one
found from the working folder upward); the built-in default. ``xbench config`` shows what is in
force and where each value came from. Relative paths in a project file are relative to the
file's folder, so a command run from a subfolder still finds the project's data and results.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import XbenchError

PROJECT_FILE = "xbench.toml"


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    flag: str
    default: str | None
    help: str


SETTINGS = {s.name: s for s in (
    Setting("data_dir", "XBENCH_DATA_DIR", "--data-dir", None,
            "task data (a local folder in a known layout); unset: the Hugging Face Hub"),
    Setting("results_dir", "XBENCH_RESULTS_DIR", "--results-dir", "results", "result files of runs"),
    Setting("reports_dir", "XBENCH_REPORTS_DIR", "--reports-dir", "reports", "generated leaderboards"),
    Setting("cache_dir", "XBENCH_CACHE_DIR", "(none)", None,
            "converted models, checkpoints of unfinished runs; unset: $XDG_CACHE_HOME/xbench or ~/.cache/xbench"),
)}


@dataclass(frozen=True)
class Resolved:
    value: str | None
    source: str  # "flag", "environment ($X)", "<file> [tool.xbench]", "default"


def _load_toml(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise XbenchError(f"{path}: cannot read project settings ({err})") from None


def find_project_file(start: Path) -> tuple[Path, dict] | None:
    """The nearest ``xbench.toml`` or ``pyproject.toml`` with ``[tool.xbench]`` from ``start`` upward,
    with its xbench settings; None when there is none."""
    for folder in (start, *start.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate, _check_keys(candidate, _load_toml(candidate))
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = _load_toml(pyproject).get("tool", {}).get("xbench")
            if table is not None:
                return pyproject, _check_keys(pyproject, table)
    return None


def _check_keys(path: Path, table) -> dict:
    if not isinstance(table, dict):
        raise XbenchError(f"{path}: xbench settings must be a table of keys")
    for key, value in table.items():
        if key not in SETTINGS:
            raise XbenchError(f"{path}: unknown setting {key!r}; known: {', '.join(SETTINGS)}")
        if not isinstance(value, str) or not value.strip():
            raise XbenchError(f"{path}: setting {key} must be a non-empty string (a path), got {value!r}")
    return table


def resolve(name: str, flag_value=None, cwd: Path | None = None) -> Resolved:
    """The value of setting ``name`` and where it came from."""
    setting = SETTINGS[name]
    if flag_value is not None and str(flag_value) != "":
        return Resolved(str(flag_value), f"flag {setting.flag}")
    if os.environ.get(setting.env):
        return Resolved(os.environ[setting.env], f"environment ${setting.env}")
    found = find_project_file((cwd or Path.cwd()).resolve())
    if found is not None and name in found[1]:
        path, table = found
        value = Path(table[name]).expanduser()
        where = f"{path}" + (" [tool.xbench]" if path.name == "pyproject.toml" else "")
        return Resolved(os.path.normpath(value if value.is_absolute() else path.parent / value), where)
    return Resolved(setting.default, "default")


def setting(name: str, flag_value=None) -> str | None:
    return resolve(name, flag_value).value


def config_table() -> str:
    """``xbench config``: every setting, its value and its source."""
    from tabulate import tabulate

    found = find_project_file(Path.cwd().resolve())
    rows = []
    for name, s in SETTINGS.items():
        resolved = resolve(name)
        rows.append([name, resolved.value if resolved.value is not None else "(unset)", resolved.source, s.env,
                     s.help])
    head = f"project file: {found[0]}" if found else (f"project file: none ({PROJECT_FILE} or pyproject.toml "
                                                       "[tool.xbench], looked from here upward)")
    return head + "\n" + tabulate(rows, headers=["setting", "value", "from", "environment", "what"]) + \
        "\nprecedence: command-line flag > environment variable > project file > default"


CACHE_ENV = "XBENCH_CACHE_DIR"


def cache_root() -> Path:
    """xbench's cache: ``$XBENCH_CACHE_DIR``, else the project file's ``cache_dir``, else
    ``$XDG_CACHE_HOME/xbench``, else ``~/.cache/xbench``."""
    configured = setting("cache_dir")  # $XBENCH_CACHE_DIR, else the project file's cache_dir
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "xbench"
