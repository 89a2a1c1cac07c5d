"""``finebooks export``: Parquet shards + dataset card that ``datasets`` loads offline; Hub push errors."""

from __future__ import annotations

import json
import os

import pyarrow.parquet as pq
import pytest
import yaml

from finebooks.cli import main
from finebooks.report.card import dataset_card, licence_fields, licence_id, size_category
from finebooks.report.export import ExportError, export_run, push_to_hub, tokenize_export
from finebooks.report.query import connect
from tests.report.conftest import write_run


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


@pytest.fixture(scope="module")
def export_dir(sample_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "ds"
    # a small shard size so that the sample (about 380 kB of text) needs several shards
    assert main(["export", str(sample_run), "--to", str(out), "--shard-mb", "0.1"]) == 0
    return out


def test_export_loads_with_datasets_offline(sample_run, export_dir):
    import datasets

    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    shards = sorted((export_dir / "data").glob("*.parquet"))
    assert len(shards) >= 3
    assert [s.name for s in shards] == [f"train-{i:05d}-of-{len(shards):05d}.parquet" for i in range(len(shards))]
    assert len({pq.read_schema(s).to_string() for s in shards}) == 1
    con = connect(sample_run)
    kept = dict(con.execute("SELECT id, text FROM books").fetchall())
    cache = str(export_dir.parent / "hf_cache")
    for ds in (datasets.load_dataset("parquet", data_dir=str(export_dir), cache_dir=cache)["train"],
               datasets.load_dataset(str(export_dir), cache_dir=cache)["train"]):  # through the card's configs
        assert ds.num_rows == len(kept)
        assert dict(zip(ds["id"], ds["text"])) == kept  # every book, text unchanged (pages still \f-joined)
        assert {"language_score", "bh_garbage_page_share", "metadata_json", "year", "n_chars"} <= set(ds.column_names)
        assert "exclusion_step" not in ds.column_names  # no kept book has it
    assert (export_dir / "finebooks" / "recipe.yaml").is_file()
    assert json.loads((export_dir / "finebooks" / "summary.json").read_text())["kept"] == len(kept)


def test_card_front_matter_and_body(sample_run, export_dir):
    card = (export_dir / "README.md").read_text()
    meta = front_matter(card)
    langs = [r[0] for r in connect(sample_run).execute(
        "SELECT language, count(*) FROM books GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()]
    assert meta["language"] == langs and meta["language"][0] == "en"
    assert meta["size_categories"] == ["n<1K"]
    assert meta["license"] == "unknown"  # the sample records carry no rights statement
    assert meta["configs"] == [{"config_name": "default", "data_files": [{"split": "train",
                                                                         "path": "data/train-*.parquet"}]}]
    assert "no rights statement" in card
    assert "| 05_metadata_filter | keep bh_garbage_page_share ≤ 0.15 |" in card
    assert "bh_garbage_page_share_above_max" in card and "finebooks_version" in card
    assert "| `language_score` | double |" in card


def test_export_refuses_to_overwrite_and_replaces_on_request(sample_run, tmp_path, capsys):
    out = tmp_path / "ds"
    export_run(sample_run, out)
    assert main(["export", str(sample_run), "--to", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    result = export_run(sample_run, out, overwrite=True, page_separator="\n\n")
    texts = pq.read_table(result.shards[0]).column("text").to_pylist()
    assert not any("\f" in t for t in texts) and any("\n\n" in t for t in texts)


def test_licence_from_rights_metadata(tmp_path):
    assert licence_id("Public Domain") == "public-domain"
    assert licence_id("http://creativecommons.org/publicdomain/mark/1.0/") == "public-domain"
    assert licence_id("CC0 1.0") == "cc0-1.0"
    assert licence_id("CC BY 4.0") == "cc-by-4.0"
    assert licence_id("https://creativecommons.org/licenses/by-nc-sa/3.0/") == "cc-by-nc-sa-3.0"
    assert licence_id("All rights reserved") is None
    from collections import Counter

    fields, text = licence_fields(Counter({"CC BY 4.0": 3}))
    assert fields == {"license": "cc-by-4.0"}
    fields, text = licence_fields(Counter({"CC BY 4.0": 3, "All rights reserved": 1}))
    assert fields == {"license": "other"} and "cc-by-4.0: 3" in text
    run = write_run(tmp_path / "run", kept=[
        {"id": f"pd/{i}", "text": "Le livre.", "metadata": {"rights": "Public domain", "language": "fr"}}
        for i in range(3)], excluded=[])
    meta = front_matter(dataset_card(run))
    assert meta["license"] == "other" and meta["license_name"] == "public-domain"
    assert meta["license_link"].startswith("https://creativecommons.org/publicdomain/mark/")
    assert meta["language"] == ["fr"]


def test_size_categories():
    assert size_category(0) == "n<1K" and size_category(999) == "n<1K" and size_category(1000) == "1K<n<10K"
    assert size_category(2_500_000) == "1M<n<10M"


def test_push_to_hub_fails_clearly_offline_and_without_token(export_dir, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ExportError, match="HF_HUB_OFFLINE is set"):
        push_to_hub(export_dir, "someone/books")
    rc = main(["export", str(export_dir.parent.parent / "missing-run"), "--to", str(tmp_path / "x"),
               "--push-to-hub", "someone/books"])
    assert rc == 2 and "does not exist" in capsys.readouterr().err
    # no token: refused before any network access
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "hf_home" / "token"))
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(ExportError, match="no token"):
        push_to_hub(export_dir, "someone/books")


def test_push_to_hub_from_the_command_line_offline(sample_run, tmp_path, capsys):
    rc = main(["export", str(sample_run), "--to", str(tmp_path / "ds"), "--push-to-hub", "someone/books"])
    captured = capsys.readouterr()
    assert rc == 2 and "HF_HUB_OFFLINE is set" in captured.err
    assert "exported" in captured.out  # the export itself is done and usable


def test_tokenized_output_with_a_local_tokenizer(export_dir, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    texts = connect_texts(export_dir)
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<|endoftext|>"]))
    tok_file = tmp_path / "tokenizer.json"
    tok.save(str(tok_file))
    out = tokenize_export(export_dir, tok_file, eos_token="<|endoftext|>")
    data = sorted(out.glob("*.ds"))
    assert len(data) == len(list((export_dir / "data").glob("*.parquet")))
    n_tokens = sum(p.stat().st_size for p in data) // 2  # uint16 tokens for a small vocabulary
    expected = sum(len(tok.encode(t).ids) + 1 for t in texts)  # + EOS per book
    assert n_tokens == expected
    with pytest.raises(ExportError, match="local tokenizer.json"):
        tokenize_export(export_dir, "gpt2")


def connect_texts(export_dir) -> list[str]:
    return [t for s in sorted((export_dir / "data").glob("*.parquet")) for t in pq.read_table(s).column("text").to_pylist()]
