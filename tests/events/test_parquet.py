"""Parquet round trip and schema validation with messages that name the file and the field."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from hand_events import random_events

from eventgnn._core.errors import SchemaError
from eventgnn.events.io import read_events
from eventgnn.events.parquet import (
    count_events,
    iter_shard_chunks,
    read_shard,
    read_shards,
    write_events,
)
from eventgnn.events.schema import validate


def test_parquet_round_trip(small_events, tmp_path):
    path = write_events(small_events, tmp_path / "a.parquet")
    back = read_shard(path)
    assert back.to_list() == small_events.to_list()
    assert str(ak.type(back)) == str(ak.type(small_events))
    assert count_events(tmp_path) == 3
    chunks = list(iter_shard_chunks(path, chunk_size=2))
    assert sum(len(c) for c in chunks) == 3


def test_validate_rejects_missing_field(small_events, tmp_path):
    broken = ak.zip({k: small_events[k] for k in ak.fields(small_events) if k != "weight"},
                    depth_limit=1)  # fmt: skip
    with pytest.raises(SchemaError, match=r"f\.parquet: field 'weight': field is missing"):
        validate(broken, "f.parquet")
    # written by hand (bypassing write_events' validation), then read: the error names the file
    path = tmp_path / "broken.parquet"
    ak.to_parquet(broken, path)
    with pytest.raises(SchemaError) as err:
        read_shard(path)
    assert str(path) in str(err.value) and "'weight'" in str(err.value)


def test_validate_rejects_missing_object_field(small_events):
    obj = small_events.objects
    fields = {k: small_events[k] for k in ak.fields(small_events)}
    fields["objects"] = ak.zip({k: obj[k] for k in ak.fields(obj) if k != "btag"})
    with pytest.raises(SchemaError, match=r"x\.parquet: field 'objects\.btag'"):
        validate(ak.zip(fields, depth_limit=1), "x.parquet")


def test_validate_rejects_wrong_type(small_events, tmp_path):
    obj = small_events.objects
    fields = {k: small_events[k] for k in ak.fields(small_events)}
    fields["objects"] = ak.zip(
        {k: ak.values_astype(obj[k], np.float64) if k == "pt" else obj[k] for k in ak.fields(obj)}
    )
    bad = ak.zip(fields, depth_limit=1)
    with pytest.raises(SchemaError, match=r"objects\.pt'.*expected float32, got float64"):
        validate(bad, "y.parquet")
    path = tmp_path / "bad.parquet"
    ak.to_parquet(bad, path)
    with pytest.raises(SchemaError, match=str(path).replace(".", r"\.") + r".*objects\.pt"):
        read_shard(path)
    # and write_events refuses to write it
    with pytest.raises(SchemaError, match="objects.pt"):
        write_events(bad, tmp_path / "never.parquet")
    assert not (tmp_path / "never.parquet").exists()


def test_validate_rejects_wrong_label_and_targets_type(small_events):
    fields = {k: small_events[k] for k in ak.fields(small_events)}
    fields["label"] = ak.values_astype(small_events.label, np.float32)
    with pytest.raises(SchemaError, match="'label'.*int64"):
        validate(ak.zip(fields, depth_limit=1), "z")
    fields = {k: small_events[k] for k in ak.fields(small_events)}
    fields["targets"] = ak.to_regular(small_events.targets[:, :40], axis=1)
    with pytest.raises(SchemaError, match="'targets'.*41"):
        validate(ak.zip(fields, depth_limit=1), "z")


def test_corrupt_parquet_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "junk.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(SchemaError, match="junk.parquet"):
        read_shard(path)


def _shards(tmp_path, sizes=(7, 0, 12, 5, 9)) -> list:
    """Shards of different sizes (one empty), different processes, written by write_events."""
    paths = []
    for k, n in enumerate(sizes):
        events = random_events(n, f"p{k % 2}", seed=k)
        paths.append(write_events(events, tmp_path / f"s{k}.parquet"))
    return paths


@pytest.mark.parametrize("threads", [1, 3])
def test_read_shards_equals_shard_by_shard(tmp_path, threads):
    paths = _shards(tmp_path)
    one_by_one = ak.concatenate([read_shard(p) for p in paths], axis=0)
    together = read_shards(paths, threads=threads)
    assert len(together) == 33
    assert str(ak.type(together)) == str(ak.type(one_by_one))
    assert ak.array_equal(together, one_by_one, equal_nan=True)
    # a folder goes through the same path, in sorted order
    assert ak.array_equal(read_events(tmp_path), one_by_one, equal_nan=True)


def test_read_shards_names_the_bad_shard_and_its_own_entry(tmp_path):
    paths = _shards(tmp_path)
    bad = random_events(6, "p0", seed=9)
    w = np.ones(6, np.float32)
    w[4] = np.nan
    ak.to_parquet(ak.with_field(bad, w, "weight"), tmp_path / "s2b.parquet")  # unvalidated
    with pytest.raises(SchemaError, match=r"s2b\.parquet: field 'weight'.*entry 4"):
        read_shards([*paths[:3], tmp_path / "s2b.parquet", *paths[3:]], threads=2)
    # a shard whose Arrow schema differs (float64 pT) cannot be joined: still named
    wide = ak.with_field(bad.objects, ak.values_astype(bad.objects.pt, np.float64), "pt")
    ak.to_parquet(ak.with_field(bad, wide, "objects"), tmp_path / "s2b.parquet")
    with pytest.raises(SchemaError, match=r"s2b\.parquet: field 'objects.pt': expected float32"):
        read_shards([*paths, tmp_path / "s2b.parquet"], threads=2)
    (tmp_path / "s2b.parquet").write_bytes(b"PAR1 junk")
    with pytest.raises(SchemaError, match=r"s2b\.parquet.*not a readable Parquet file"):
        read_events(tmp_path)


def test_parquet_file_with_types_awkward_cannot_hold_is_named(tmp_path):
    """A Parquet file from another tool with Arrow types awkward has no equivalent (decimals):
    a schema error naming the file, among good shards too, not an internal error."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = _shards(tmp_path, sizes=(4, 5))
    odd = tmp_path / "odd.parquet"
    pq.write_table(pa.table({"pt": pa.array([decimal.Decimal("1.5")], pa.decimal128(5, 2))}), odd)
    for args in ([odd], [*paths, odd]):
        with pytest.raises(SchemaError, match=r"odd\.parquet.*not an event record"):
            read_shards(args, threads=2)


def _write_old_shard(events: ak.Array, path, row_group_size: int = 65536):
    """``events`` as a shard written before ``objects.type`` became ``objects.kind`` (as
    ``write_events`` wrote it then: the same record with the old field name)."""
    obj = events.objects
    old = ak.zip({("type" if k == "kind" else k): obj[k] for k in ak.fields(obj)})
    ak.to_parquet(
        ak.with_field(events, old, "objects"), path, compression="zstd",
        row_group_size=row_group_size,
    )  # fmt: skip
    return path


def _object_names(path) -> list[str]:
    import pyarrow.parquet as pq

    return [f.name for f in pq.read_schema(path).field("objects").type.value_type]


def test_old_shards_with_objects_type_are_read_with_kind(tmp_path):
    import torch

    from eventgnn.events.io import convert, iter_event_chunks
    from eventgnn.events.schema import OBJECT_FIELDS
    from eventgnn.graphs.dataset import load_task_data, task_labels

    wh, zh = random_events(40, "wh", seed=3), random_events(30, "zh", seed=4, shift=40.0)
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    old_dir.mkdir()
    old = _write_old_shard(wh, old_dir / "wh.parquet", row_group_size=10)  # 4 row groups
    assert "type" in _object_names(old) and "kind" not in _object_names(old)
    write_events(zh, old_dir / "zh.parquet")  # an old and a new shard in one folder
    new_dir.mkdir()
    write_events(wh, new_dir / "wh.parquet")
    write_events(zh, new_dir / "zh.parquet")
    both = ak.concatenate([wh, zh])

    back = read_shard(old)
    assert ak.fields(back.objects) == list(OBJECT_FIELDS)
    assert back.objects.kind.to_list() == wh.objects.kind.to_list()
    assert ak.array_equal(back, wh, equal_nan=True)
    for events in (read_events(old_dir), read_shards(sorted(old_dir.iterdir()), threads=2)):
        assert ak.array_equal(events, both, equal_nan=True)
    chunks = list(iter_event_chunks(old_dir, 15))
    assert all(ak.fields(c.objects) == list(OBJECT_FIELDS) for c in chunks)
    assert ak.array_equal(ak.concatenate(chunks), both, equal_nan=True)
    assert len(list(iter_shard_chunks(old, 15))) == 2  # row groups of 10: 20 + 20

    # convert reads it in row-group chunks and writes the current name
    out = convert([old], tmp_path / "converted", chunk_size=25, progress=False)
    assert len(out) == 2 and all(_object_names(p) == list(OBJECT_FIELDS) for p in out)
    assert ak.array_equal(read_events(tmp_path / "converted"), wh, equal_nan=True)

    # training data: the same graphs and labels as from the same events in new shards
    from_old = load_task_data(old_dir, ["wh", "zh"])
    from_new = load_task_data(new_dir, ["wh", "zh"])
    assert torch.equal(from_old.graphs.x, from_new.graphs.x)
    assert torch.equal(from_old.graphs.labels["label"], from_new.graphs.labels["label"])
    assert (
        task_labels(old_dir, ["wh", "zh"], None)[0] == task_labels(new_dir, ["wh", "zh"], None)[0]
    ).all()


def test_renaming_old_fields_copies_no_data(tmp_path):
    from eventgnn.events.parquet import current_names

    events = random_events(20, "wh", seed=1)
    read = ak.from_parquet(_write_old_shard(events, tmp_path / "old.parquet"))
    renamed = current_names(read)
    assert np.shares_memory(
        ak.to_numpy(ak.flatten(renamed.objects.kind)), ak.to_numpy(ak.flatten(read.objects["type"]))
    )
    assert current_names(events) is events  # nothing to rename: the array itself


def test_validate_names_the_old_field(small_events):
    from eventgnn.events.schema import make_events

    obj = small_events.objects
    old = {("type" if k == "kind" else k): obj[k] for k in ak.fields(obj)}
    fields = {k: small_events[k] for k in ak.fields(small_events)}
    fields["objects"] = ak.zip(old)
    with pytest.raises(SchemaError, match=r"'objects\.kind': field is missing \(found 'type'"):
        validate(ak.zip(fields, depth_limit=1), "x.parquet")
    with pytest.raises(ValueError, match=r"lack fields \['kind'\] \(found 'type'.*'kind'\)"):
        make_events(old, process="p", source="s")
