"""The typed result object: every committed result file reads into it and writes back the same
JSON, and a file with a missing or mistyped field is one line naming the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.errors import XbenchError
from benchmark.results.record import KIND_AS_GIVEN, KIND_IMPORTED, KIND_RUN, Result
from benchmark.results.store import iter_result_files, read_result

RESULTS = Path(__file__).resolve().parents[1] / "results"


def test_every_committed_result_reads_and_writes_back_unchanged():
    paths = iter_result_files(RESULTS)
    assert len(paths) >= 30
    kinds = set()
    for path in paths:
        stored = read_result(path)
        result = Result.read(path)
        kinds.add(result.kind)
        store_fields = {k: stored[k] for k in ("schema_version", "checksum")}
        assert {**result.as_dict(), **store_fields} == stored, path
    assert kinds == {KIND_RUN, KIND_IMPORTED}


def test_written_and_read_again_it_is_the_same_object(tmp_path):
    result = Result(kind=KIND_AS_GIVEN, task="wikiann", task_version=1, identity={"model": "m"},
                    model={"name": "m"}, sources=["en"], seed=1, recipe=None, seqeval_mode="conlleval", warnings=[],
                    label_mapping={"model_labels": ["O"], "to_task": ["O"], "predicted_as_o": []})
    result.stamp({"torch": "x"}, None)
    result.targets["de"] = {"f1": 0.5}
    path = tmp_path / "seed-1.json"
    result.write(path)
    again = Result.read(path)
    assert again == result
    written = json.loads(path.read_text())
    assert written["evaluated_as_given"] is True and written["training"] is None and written["warnings"] == []


def test_an_imported_result_has_no_training_fields():
    result = Result(kind=KIND_IMPORTED, task="t", task_version=1, identity={}, model={"name": "s"},
                    sources=["in-language"],
                    seed=1, recipe=None, seqeval_mode="conlleval", imported={"files": {}})
    assert not {"config", "training", "warnings"} & set(result.as_dict())


@pytest.mark.parametrize("field, value, expected", [
    ("seed", "1", "'seed' is str, expected int"),
    ("seed", True, "'seed' is bool, expected int"),
    ("targets", [], "'targets' is list, expected dict"),
    ("model", None, "'model' is NoneType, expected dict"),
])
def test_a_mistyped_field_is_one_line_naming_file_and_field(field, value, expected):
    data = read_result(iter_result_files(RESULTS)[0])
    data[field] = value
    with pytest.raises(XbenchError, match=expected) as err:
        Result.from_dict(data, "results/x/seed-1.json")
    assert str(err.value).startswith("results/x/seed-1.json: ") and "\n" not in str(err.value)


def test_a_target_that_is_not_an_object_is_refused():
    data = read_result(iter_result_files(RESULTS)[0])
    data["targets"]["de"] = 0.5
    with pytest.raises(XbenchError, match="target 'de' is float"):
        Result.from_dict(data, "r.json")
