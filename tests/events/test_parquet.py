"""Parquet round trip and schema validation with messages that name the file and the field."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from hand_events import random_events

from eventgnn.errors import SchemaError
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
