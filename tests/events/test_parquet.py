"""Parquet round trip and schema validation with messages that name the file and the field."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from eventgnn.events.parquet import count_events, iter_shard_chunks, read_shard, write_events
from eventgnn.events.schema import SchemaError, validate


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
