"""Every declared task's metadata, and task files found from a checkout and from a wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from benchmark.data.tasks import all_tasks, validate_recipe
from benchmark.errors import XbenchError
from tests.conftest import FILE_SPLIT, write_panx

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
    code = "from benchmark.data.tasks import tasks_dir, get_task; print(tasks_dir()); print(get_task('wikiann').name)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [str(tmp_path / "site" / "benchmark" / "_tasks"), "wikiann"]


# The 176 configs of the Hub's unimelb-nlp/wikiann (its dataset card), without the "other-" prefix.
WIKIANN_HUB_CONFIGS = """ace af als am an ang ar arc arz as ast ay az ba bar bat-smg be be-x-old bg bh bn bo br bs ca
cbk-zam cdo ce ceb ckb co crh cs csb cv cy da de diq dv el eml en eo es et eu ext fa fi fiu-vro fo fr frr fur fy ga
gan gd gl gn gu hak he hi hr hsb hu hy ia id ig ilo io is it ja jbo jv ka kk km kn ko ksh ku ky la lb li lij lmo ln lt
lv map-bms mg mhr mi min mk ml mn mr ms mt mwl my mzn nap nds ne nl nn no nov oc or os pa pdc pl pms pnb ps pt qu rm
ro ru rw sa sah scn sco sd sh si simple sk sl so sq sr su sv sw szl ta te tg th tk tl tr tt ug uk ur uz vec vep vi
vls vo wa war wuu xmf yi yo zea zh zh-classical zh-min-nan zh-yue""".split()


def test_wikiann_declares_every_hub_config_with_script_family_and_pretraining():
    task = all_tasks()["wikiann"]
    assert len(WIKIANN_HUB_CONFIGS) == 176
    assert sorted(task.languages) == sorted(WIKIANN_HUB_CONFIGS)
    assert sorted(task.language_sets["wikiann-all"]) == sorted(WIKIANN_HUB_CONFIGS)
    assert all(lang.family for lang in task.languages.values())
    assert all(set(lang.pretrained_in) <= {"xlmr", "mbert"} for lang in task.languages.values())
    # Spot checks against the papers' lists: XLM-R has Amharic (mBERT does not), mBERT has
    # Bavarian (XLM-R does not), neither has Cantonese.
    assert task.language("am").pretrained_in == ("xlmr",)
    assert task.language("bar").pretrained_in == ("mbert",)
    assert task.language("zh-yue").pretrained_in == ()
    assert (task.language("dv").script, task.language("eu").family) == ("Thaa", "Isolate")
    # Agrees with the model registry's language lists.
    from benchmark.models.registry import registry

    xlmr = set(registry()[1]["xlmr100"])
    assert {c for c, lang in task.languages.items() if "xlmr" in lang.pretrained_in} - {"simple", "be-x-old"} \
        == xlmr & set(task.languages)


def test_unknown_code_is_usable_by_name_and_reported_as_unknown(tmp_path, corpus):
    from click.testing import CliRunner

    from benchmark.cli import cli
    from benchmark.data.conll import write_tagged_file

    folder = write_panx(tmp_path / "panx", {"en": corpus["en"]})
    for split, name in FILE_SPLIT.items():
        write_tagged_file(folder / f"{name}-xx-new.tsv", corpus["en"][split])
    task = all_tasks()["wikiann"]
    assert task.language("xx-new").name == "unknown" and not task.language("xx-new").known
    for spec in ("all", "en,xx-new"):
        out = CliRunner().invoke(cli, ["languages", "--set", spec, "--data-dir", str(folder)])
        assert out.exit_code == 0, out.output
        row = next(line for line in out.output.splitlines() if line.startswith("xx-new"))
        assert "unknown" in row and "yes" in row
        assert "not declared by task wikiann (unknown language, usable by name): xx-new" in out.output
    # A code with no data anywhere is still a typo: one line with a suggestion, exit status 2.
    out = CliRunner().invoke(cli, ["languages", "--set", "xx-nwe", "--data-dir", str(folder)])
    assert out.exit_code == 2 and "did you mean 'xx-new'" not in out.output and "unknown language" in out.output


def test_all_from_the_hub_means_all_176_languages():
    from benchmark.data.languages import expand_language_spec
    from benchmark.data.sources import DataSource

    task = all_tasks()["wikiann"]
    assert sorted(expand_language_spec(task, "all", DataSource("hub", None))) == sorted(WIKIANN_HUB_CONFIGS)
    assert len(expand_language_spec(task, "wikiann-all", DataSource("hub", None))) == 176
    # On the Hub an undeclared code is a typo, not a language: it stops with a suggestion.
    with pytest.raises(XbenchError, match="did you mean 'zh-yue'"):
        expand_language_spec(task, "zh-yeu", DataSource("hub", None))
