"""ONNX export: onnxruntime against PyTorch for both exporters, the command line end to end, the
metadata, the refusals, and the Python example of docs/export.md."""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from hand_events import TINY, random_events  # noqa: E402

from eventgnn.cli import main  # noqa: E402
from eventgnn.deploy import export  # noqa: E402
from eventgnn.deploy.export import (  # noqa: E402
    INPUT_NAMES,
    GraphLogits,
    available_exporters,
    export_onnx,
)
from eventgnn.events.schema import make_events  # noqa: E402
from eventgnn.events.selection import DEFAULT_CUTS  # noqa: E402
from eventgnn.graphs.batch import build_batch  # noqa: E402
from eventgnn.model import gn  # noqa: E402
from eventgnn.train.checkpoint import load_model  # noqa: E402
from eventgnn.train.objectives import Objective  # noqa: E402

DOCS = Path(__file__).resolve().parents[2] / "docs" / "export.md"
EXPORTERS = [
    pytest.param(
        e,
        marks=pytest.mark.skipif(
            e not in available_exporters(), reason=f"torch {torch.__version__} lacks it"
        ),
    )
    for e in ("dynamo", "legacy")
]
TOLERANCE = 1e-5


def events_of(counts, seed: int) -> ak.Array:
    """Events with the given numbers of objects (any type, MET with eta 0) as the event record."""
    return random_events(len(counts), "test", seed, counts=counts, targets=False)


def parity_batches():
    """Batches of 1, 7 and 64 events of 1 to 20 objects, plus single-object events only (E = 0)."""
    rng = np.random.default_rng(5)
    out = [events_of(rng.integers(1, 21, size), seed=size) for size in (1, 7, 64)]
    out[2] = events_of(np.concatenate([[1, 20], rng.integers(1, 21, 62)]), seed=64)
    return [*out, events_of([1], seed=1), events_of([1, 1, 1], seed=3)]


def run_onnx(path, graphs) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {name: getattr(graphs, name).numpy() for name in INPUT_NAMES}
    return session.run(["logits"], feed)[0]


def torch_logits(run, graphs) -> np.ndarray:
    model, _ = load_model(run)
    with torch.no_grad():
        return model.eval()(graphs).numpy()


@pytest.fixture(scope="module")
def runs(tiny_data, tmp_path_factory):
    """A tiny multiclass pretraining run and a binary finetune (wh_vs_zh) from it."""
    from eventgnn.catalog.resolve import resolve_task
    from eventgnn.config import RunConfig, apply_overrides
    from eventgnn.train.finetune import finetune
    from eventgnn.train.runs import pretrain

    torch.set_num_threads(1)
    base = apply_overrides(RunConfig(), [*TINY, "train.epochs=1"])
    top = tmp_path_factory.mktemp("export_runs")
    quiet = lambda s: None  # noqa: E731
    pre = pretrain(
        replace(base, command="pretrain", objective="multiclass", data=str(tiny_data),
                out=str(top / "pre")),
        log=quiet,
    )  # fmt: skip
    ft = finetune(
        replace(base, command="finetune", task="wh_vs_zh", data=str(tiny_data),
                out=str(top / "ft"), pretrained=str(pre)),
        resolve_task("wh_vs_zh"),
        log=quiet,
    )  # fmt: skip
    return {"multiclass": Path(pre), "binary": Path(ft)}


@pytest.fixture(scope="module")
def exported(runs, tmp_path_factory):
    """``get(kind, exporter) -> path``: each model exported once per module. The multiclass model
    with the default exporter goes through the real command line."""
    top, cache = tmp_path_factory.mktemp("onnx"), {}

    def get(kind: str, exporter: str) -> Path:
        if (kind, exporter) not in cache:
            path = top / f"{kind}_{exporter}.onnx"
            if kind == "multiclass" and exporter == available_exporters()[0]:
                assert main(["export", "--model", str(runs[kind]), "--onnx", str(path)]) == 0
            else:
                export_onnx(runs[kind], path, exporter=exporter)
            cache[kind, exporter] = path
        return cache[kind, exporter]

    return get


def test_cli_export_end_to_end(runs, exported, capsys):
    path = exported("multiclass", available_exporters()[0])
    out = capsys.readouterr().out
    assert re.search(rf"wrote {re.escape(str(path))} \((dynamo|legacy) exporter, opset \d+; "
                     r"onnxruntime matches PyTorch to \S+ \(<= 0.0001\)\)", out), out  # fmt: skip
    graphs = build_batch(events_of([3, 1, 5], seed=9))
    onnx_out = run_onnx(path, graphs)
    assert onnx_out.shape == (3, 3)
    np.testing.assert_allclose(onnx_out, torch_logits(runs["multiclass"], graphs), atol=TOLERANCE)


@pytest.mark.slow  # ~10 s: an export in a fresh Python process
@pytest.mark.skipif(
    importlib.util.find_spec("torchvision") is not None, reason="torchvision is installed"
)
def test_export_keeps_torch_notices_about_torchvision_off_the_screen(runs, tmp_path):
    """Without torchvision, torch's dynamo exporter logs every torchvision operator it skips (in
    a fresh process: once per process); they say nothing about this model."""
    done = subprocess.run(
        [sys.executable, "-m", "eventgnn", "export", "--model", str(runs["binary"]), "--onnx",
         str(tmp_path / "m.onnx")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "wrote" in done.stdout and "torchvision" not in done.stderr, done.stderr


@pytest.mark.parametrize("exporter", EXPORTERS)
@pytest.mark.parametrize("kind", ["multiclass", "binary"])
def test_onnxruntime_matches_pytorch(runs, exported, kind, exporter):
    import onnx

    path = exported(kind, exporter)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert "ScatterElements" in ops and "ScatterND" not in ops
    n_outputs = {"multiclass": 3, "binary": 1}[kind]
    for events in parity_batches():
        graphs = build_batch(events)  # the raw tensors exactly as eventgnn builds them
        onnx_out = run_onnx(path, graphs)
        ref = torch_logits(runs[kind], graphs)
        assert onnx_out.shape == ref.shape == (len(events), n_outputs)
        diff = float(np.abs(onnx_out - ref).max())
        assert diff <= TOLERANCE, f"{kind} {exporter}: {len(events)} events, max |diff| {diff}"


def test_metadata_records_features_task_recipe_and_run(runs, exported):
    import onnx

    import eventgnn

    for kind in ("multiclass", "binary"):
        path = exported(kind, "legacy")
        model = onnx.load(str(path))
        meta = {p.key: p.value for p in model.metadata_props}
        _, ckpt = load_model(runs[kind])
        assert json.loads(meta["eventgnn.node_features"]) == ckpt["features"]["node"]
        assert json.loads(meta["eventgnn.node_features"]) == [
            "pt", "eta", "phi", "energy", "kind", "btag", "charge"
        ]  # fmt: skip
        assert json.loads(meta["eventgnn.edge_features"]) == ["delta_eta", "delta_phi", "delta_r"]
        assert json.loads(meta["eventgnn.global_features"]) == ["n_nodes"]
        assert json.loads(meta["eventgnn.class_names"]) == list(ckpt["task"]["names"])
        assert meta["eventgnn.task_kind"] == kind
        assert json.loads(meta["eventgnn.selection"]) == json.loads(
            json.dumps(asdict(DEFAULT_CUTS))
        )
        assert json.loads(meta["eventgnn.object_types"])["met"] == 4
        assert "[-pi, pi)" in meta["eventgnn.edge_definitions"]
        assert "fully connected directed graph" in meta["eventgnn.graph"]
        assert meta["eventgnn.run"] == str(runs[kind].resolve())
        assert meta["eventgnn.version"] == eventgnn.__version__
        assert json.loads(meta["eventgnn.provenance"]) == ckpt["provenance"]
        names = [i.name for i in model.graph.input]
        assert names == list(INPUT_NAMES) and [o.name for o in model.graph.output] == ["logits"]
        dims = {
            i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
            for i in model.graph.input
        }
        assert dims["x"] == ["nodes", 7] and dims["edge_index"] == [2, "edges"]
        assert dims["u"] == ["events", 1] and dims["batch"] == ["nodes"]
    meta = {p.key: p.value for p in onnx.load(str(exported("binary", "legacy"))).metadata_props}
    assert json.loads(meta["eventgnn.signal"]) == ["wh"] and "sigmoid" in meta["eventgnn.scores"]


def index_add_only(src, index, dim_size):
    """The scatter-sum without its export form (what the model did before)."""
    return src.new_zeros(dim_size, src.shape[1]).index_add_(0, index, src)


@pytest.mark.filterwarnings("ignore:ONNX Preprocess - Removing mutation")
@pytest.mark.filterwarnings("ignore:Warning. ONNX export does not support duplicated values")
@pytest.mark.parametrize(
    "exporter, written",
    [
        pytest.param(e, w, marks=pytest.mark.skipif(e not in available_exporters(), reason="n/a"))
        for e, w in (("legacy", "ScatterElements(reduction=none)"),
                     ("dynamo", "ScatterND(reduction=add)"))
    ],
)  # fmt: skip
def test_unreliable_scatters_are_refused(runs, tmp_path, monkeypatch, exporter, written):
    """With ``index_add_`` the legacy exporter writes a scatter that keeps one row per index
    (wrong sums, only a warning) and the dynamo one a ``ScatterND`` that onnxruntime sums with a
    race; both are refused and nothing is written."""
    monkeypatch.setattr(gn, "scatter_sum", index_add_only)
    target = tmp_path / "bad.onnx"
    with pytest.raises(
        RuntimeError, match=rf"scatter nodes that do not sum reliably \({re.escape(written)}"
    ):
        export_onnx(runs["multiclass"], target, exporter=exporter)
    assert not target.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("ignore:ONNX Preprocess - Removing mutation")
@pytest.mark.filterwarnings("ignore:Warning. ONNX export does not support duplicated values")
def test_parity_check_refuses_wrong_logits(runs, tmp_path, monkeypatch):
    """Past the scatter check, the onnxruntime check alone refuses the legacy exporter's wrong
    sums (logits off by far more than the tolerance)."""
    if "legacy" not in available_exporters():
        pytest.skip("no legacy exporter")
    monkeypatch.setattr(gn, "scatter_sum", index_add_only)
    monkeypatch.setattr(export, "scatter_problems", lambda proto: [])
    target = tmp_path / "bad.onnx"
    with pytest.raises(RuntimeError, match=r"differ from PyTorch's by up to .*nothing written"):
        export_onnx(runs["multiclass"], target, exporter="legacy")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_refusals(runs, tmp_path, capsys):
    with pytest.raises(ValueError, match="opset 15 is too old for the legacy exporter"):
        export_onnx(runs["multiclass"], tmp_path / "m.onnx", exporter="legacy", opset=15)
    with pytest.raises(ValueError, match="unknown exporter 'tensorrt'"):
        export_onnx(runs["multiclass"], tmp_path / "m.onnx", exporter="tensorrt")
    rc = main(["export", "--model", str(tmp_path / "nope"), "--onnx", str(tmp_path / "m.onnx")])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("eventgnn export: error: ") and "no such model file" in err
    assert not (tmp_path / "m.onnx").exists()


def test_docs_python_example(runs, exported, tmp_path, monkeypatch, capsys):
    """The example of docs/export.md, building the inputs by hand with numpy, gives PyTorch's
    probabilities for the same events built by eventgnn."""
    text = DOCS.read_text()
    example = text.split("## Python example", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    for kind in ("multiclass", "binary"):
        shutil.copy(exported(kind, "legacy"), tmp_path / "model.onnx")
        monkeypatch.chdir(tmp_path)
        ns: dict = {}
        exec(compile(example, str(DOCS), "exec"), ns)
        capsys.readouterr()
        objects = [o for event in ns["events"] for o in event]
        counts = [len(event) for event in ns["events"]]
        cols = {f: ak.unflatten(np.array([o[f] for o in objects]), counts) for f in objects[0]}
        graphs = build_batch(make_events(cols, process="test", source="docs"))
        # the hand-built inputs equal eventgnn's, tensor by tensor
        hand = ns["batch_inputs"](ns["events"])
        for name in INPUT_NAMES:
            np.testing.assert_allclose(hand[name], getattr(graphs, name).numpy(), atol=1e-6)
        model, ckpt = load_model(runs[kind])
        with torch.no_grad():
            logits = GraphLogits(model.eval())(*(getattr(graphs, n) for n in INPUT_NAMES))
        probabilities = Objective(kind, tuple(ckpt["task"]["names"])).scores(logits).numpy()
        np.testing.assert_allclose(ns["probabilities"], probabilities, atol=TOLERANCE)


@pytest.fixture
def run_copy(runs, tmp_path):
    """A copy of the binary run, which a test may damage."""
    return Path(shutil.copytree(runs["binary"], tmp_path / "run"))


def test_the_output_is_never_the_model_file(run_copy, tmp_path, capsys):
    """Was: ``export --onnx RUN/model.pt`` replaced the run's model with the ONNX file (exit 0)."""
    model = run_copy / "model.pt"
    before = model.read_bytes()
    assert main(["export", "--model", str(run_copy), "--onnx", str(model)]) == 1
    assert "expected a file name ending in .onnx" in capsys.readouterr().err
    (tmp_path / "link.onnx").symlink_to(model)
    (tmp_path / "hard.onnx").hardlink_to(model)
    for name in ("link.onnx", "hard.onnx"):
        with pytest.raises(ValueError, match=r"is the model file .*model\.pt itself"):
            export_onnx(run_copy, tmp_path / name)
    assert model.read_bytes() == before


class NanLogits(torch.nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, *inputs):
        out = self.module(*inputs)
        return out + torch.where(torch.arange(len(out))[:, None] == 0, torch.nan, 0.0)


def test_a_non_finite_logit_fails_the_parity_check(runs, exported, monkeypatch, tmp_path):
    """Was: a model with NaN weights passed the check (``max(0, nan)`` is 0)."""
    model, _ = load_model(runs["binary"])
    path = exported("binary", available_exporters()[0])
    assert export.check_onnx(path, GraphLogits(model)) < 1e-4
    assert np.isnan(export.check_onnx(path, NanLogits(GraphLogits(model))))

    def nan_model(run):  # past load_model's own checks: what the parity check sees
        model, ckpt = load_model(run)
        with torch.no_grad():
            model.head.bias.fill_(torch.nan)
        return model, ckpt

    monkeypatch.setattr("eventgnn.train.checkpoint.load_model", nan_model)
    target = tmp_path / "nan.onnx"
    with pytest.raises(RuntimeError, match=r"logits are not finite.*weights hold non-finite values "
                                           r"\(head\.bias\); nothing written"):  # fmt: skip
        export_onnx(runs["binary"], target)
    assert not target.exists()


@pytest.mark.skipif("dynamo" not in available_exporters(), reason="no dynamo exporter")
def test_an_opset_the_exporter_does_not_write_is_refused(runs, tmp_path, caplog):
    """Was: ``--opset 13`` silently wrote opset 18 (the dynamo exporter cannot convert this model
    to 13); an opset it converts to (17) is honoured."""
    target = tmp_path / "m.onnx"
    with pytest.raises(
        ValueError,
        match=r"opset 13: the dynamo exporter .* cannot write this "
        r"model in it \(it wrote opset 18\); nothing written",
    ):
        export_onnx(runs["binary"], target, exporter="dynamo", opset=13)  # fmt: skip
    assert not target.exists()
    assert export_onnx(runs["binary"], target, exporter="dynamo", opset=17, check=False).opset == 17
    assert not [r for r in caplog.records if r.name in export.THIRD_PARTY_NOTICES]


@pytest.mark.skipif("dynamo" not in available_exporters(), reason="no dynamo exporter")
def test_export_keeps_onnxscript_notices_off_the_screen(runs, tmp_path, caplog):
    """Was: four or more "Skipping constant folding for op Split with multiple outputs." lines
    on every export; other records of the same loggers still show."""
    export_onnx(runs["binary"], tmp_path / "m.onnx", exporter="dynamo")
    assert not [r.getMessage() for r in caplog.records if "constant folding" in r.getMessage()]
    other = logging.LogRecord("onnxscript.optimizer._constant_folding", logging.WARNING, "", 0,
                              "Something real went wrong", None, None)  # fmt: skip
    assert export._no_third_party_notice(other)
