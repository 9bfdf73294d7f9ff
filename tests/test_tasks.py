"""Every declared task's metadata, and task files found from a checkout and from a wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from benchmark.errors import XbenchError
from benchmark.tasks import all_tasks, validate_recipe

RAHIMI41 = ("af ar bg bn bs ca cs da de el en es et fa fi fr he hi hr hu id it lt lv mk ms nl no pl pt ro ru sk sl "
            "sq sv ta tl tr uk vi").split()
XTREME40 = ("af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru sw ta te th "
            "tl tr ur vi yo zh").split()
XTREME_R48 = XTREME40 + "az gu lt pa pl qu ro uk".split()


@pytest.mark.parametrize("task", list(all_tasks().values()), ids=lambda t: t.name)
def test_task_metadata_is_complete(task):
    assert task.labels[0] == "O"
    assert all(label == "O" or label[:2] in ("B-", "I-") for label in task.labels)
    types = {label[2:] for label in task.labels if label != "O"}
    assert set(task.labels) == {"O"} | {f"{p}-{t}" for t in types for p in "BI"}
    assert task.splits == ("train", "validation", "test")
    assert task.default_recipe in task.recipes and "quick" in task.recipes
    for code, lang in task.languages.items():
        assert lang.code == code and lang.name and len(lang.script) == 4 and lang.script.istitle()
    for codes in task.language_sets.values():
        assert len(set(codes)) == len(codes) and set(codes) <= set(task.languages)
    assert task.citation and task.seqeval_mode == "conlleval"
    assert task.hub_dataset or task.name == "masakhaner2-transfer"  # the transfer corpus is local only


def test_wikiann_language_sets_are_exactly_the_published_ones():
    task = all_tasks()["wikiann"]
    assert list(task.language_sets["rahimi41"]) == RAHIMI41
    assert list(task.language_sets["xtreme40"]) == XTREME40
    assert list(task.language_sets["xtreme-r48"]) == XTREME_R48
    assert task.hub_dataset == "unimelb-nlp/wikiann"
    xtreme = task.recipes["xtreme"]
    assert (xtreme.lr, xtreme.batch_size, xtreme.epochs, xtreme.max_length, xtreme.adam_epsilon,
            xtreme.weight_decay, xtreme.warmup_ratio, xtreme.max_grad_norm) == (2e-5, 32, 10, 128, 1e-8, 0, 0, 1.0)


@pytest.mark.parametrize("field,value,message", [
    ("lr", -1e-5, "lr must be > 0.0"),
    ("batch_size", 0, "batch_size must be >= 1"),
    ("epochs", "three", "epochs must be an integer, got 'three'"),
    ("lr", True, "lr must be a number"),
])
def test_recipe_fields_are_checked(field, value, message):
    values = {**all_tasks()["wikiann"].recipes["quick"].as_dict(), field: value}
    with pytest.raises(XbenchError, match=message):
        validate_recipe(values)


def test_task_files_ship_inside_the_wheel(tmp_path):
    """Build the wheel, install nothing: import from the unpacked wheel and find the task."""
    root = Path(__file__).resolve().parents[1]
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path / "dist"), "-q"], capture_output=True, text=True)
    if built.returncode != 0 and "hatchling" in built.stderr:
        pytest.skip("hatchling is not installed in this environment")
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("xbench-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        assert "benchmark/_tasks/wikiann.yaml" in archive.namelist()
        archive.extractall(tmp_path / "site")
    code = "from benchmark.tasks import tasks_dir, get_task; print(tasks_dir()); print(get_task('wikiann').name)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [str(tmp_path / "site" / "benchmark" / "_tasks"), "wikiann"]
