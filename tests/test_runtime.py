"""ProcessLocal: loaded data stays out of executor.json and out of pickles."""

import copy
import json
import pickle

from datatrove.executor.base import ExecutorJSONEncoder

from finebooks.readers.text import TroveTextReader
from finebooks.runtime import ProcessLocal


def test_pickle_and_copy_drop_the_value():
    slot = ProcessLocal()
    slot.value = {"a": 1}
    for clone in (pickle.loads(pickle.dumps(slot)), copy.deepcopy(slot)):
        assert isinstance(clone, ProcessLocal)
        assert clone.value is None
    assert slot.value == {"a": 1}
    ids = ProcessLocal(set)
    ids.value.add("book")
    assert copy.deepcopy(ids).value == set() and pickle.loads(pickle.dumps(ids)).value == set()


def test_loaded_catalogue_is_not_encoded_into_executor_json(tmp_path):
    (tmp_path / "metadata.jsonl").write_text(
        "".join(json.dumps({"file": f"b{i}.txt", "title": "x" * 200}) + "\n" for i in range(50)))
    (tmp_path / "b0.txt").write_text("Some text of a book.\n")
    reader = TroveTextReader(str(tmp_path))
    assert len(reader.catalogue()) == 50
    encoded = json.dumps(reader, cls=ExecutorJSONEncoder)
    assert "x" * 200 not in encoded
    assert "<loaded at run time>" in encoded
    # a pickled reader (Slurm/Ray ship steps pickled) reloads its catalogue lazily
    clone = pickle.loads(pickle.dumps(reader))
    assert len(clone.catalogue()) == 50
