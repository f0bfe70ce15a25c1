"""A run's model as an ONNX graph: raw graph tensors in, logits out, for C++ and other runtimes.

The graph takes the tensors :func:`eventgnn.to_graph` / :meth:`GraphTensors.batch` build, unchanged
(standardisation is inside the model, so inside the graph), and returns the head's logits:

================  =======  ===========  ===================================================
input             dtype    shape        meaning
================  =======  ===========  ===================================================
``x``             float32  ``[N, 7]``   node features, raw (:data:`NODE_FEATURES` order)
``edge_index``    int64    ``[2, E]``   source and target node of every directed edge
``edge_attr``     float32  ``[E, 3]``   edge features (:data:`EDGE_FEATURES` order)
``u``             float32  ``[B, 1]``   global feature: the number of nodes of each event
``batch``         int64    ``[N]``      event of each node, ``0 .. B-1``, non-decreasing
================  =======  ===========  ===================================================

output ``logits``: float32 ``[B, n_outputs]``. ``N``, ``E`` and ``B`` are dynamic. The feature
order, the graph recipe, the task and where the model came from are stored as ONNX metadata
(:func:`onnx_metadata`); docs/export.md describes them for C++ users.

Both exporters of ``torch.onnx`` are supported: the ``torch.export``-based one (``dynamo=True``,
torch >= 2.5 with ``onnxscript``; the default where available) and the TorchScript-based one
(``dynamo=False``, the only one before torch 2.5). While an export runs, the model's scatter-sum
takes a form that both translate into ``ScatterElements(reduction="add")``
(:func:`eventgnn.model.gn.scatter_sum`); :func:`export_onnx` refuses a graph with any other
scatter (:func:`scatter_problems`) and, unless ``check=False``, one whose onnxruntime logits differ
from PyTorch's (:func:`check_onnx`).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import math
import os
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._core.fileio import atomic_path
from ..events.schema import ObjectType
from ..events.selection import DEFAULT_CUTS
from ..graphs.batch import make_batch
from ..graphs.features import NODE_FEATURES
from ..model.eventgnn import EventGNN

INPUT_NAMES: tuple[str, ...] = ("x", "edge_index", "edge_attr", "u", "batch")
OUTPUT_NAME = "logits"
EXPORTERS: tuple[str, ...] = ("dynamo", "legacy")
ONNX_FORMAT = "eventgnn-onnx/1"
MIN_LEGACY_OPSET = 16
"""``ScatterElements(reduction="add")``, the legacy exporter's form of ``scatter_add``, needs
opset 16; below it the legacy exporter writes a scatter that keeps one of the summed rows."""
CHECK_TOLERANCE = 1e-4
"""Largest |ONNX - PyTorch| logit difference :func:`export_onnx` accepts (float32 sums in another
order differ by about 1e-6)."""

GRAPH_RECIPE = (
    "one fully connected directed graph per event over its selected objects: an edge (i, j) for "
    "every ordered pair of distinct objects, i = edge_index[0] the source, j = edge_index[1] the "
    "target; node indices are global over the batch (event b's nodes follow those of events "
    "0..b-1); within an event, edges are ordered by source, then target (the order does not "
    "change the result: every sum in the model is order-independent); an event with one object "
    "has no edges"
)
EDGE_DEFINITIONS = (
    "delta_eta = eta_i - eta_j; delta_phi = phi_i - phi_j wrapped into [-pi, pi) with a floored "
    "modulo, (d + pi) - 2 pi floor((d + pi) / (2 pi)) - pi; delta_r = sqrt(delta_eta^2 + "
    "delta_phi^2); i the source, j the target"
)
NODE_DEFINITIONS = (
    "raw values, no standardisation: pt [GeV], eta, phi [rad], energy [GeV] (massless: pt cosh "
    "eta; MET: eta 0, energy = pt), kind (object_types), btag (1 for a b-tagged jet, else 0), "
    "charge (lepton charge, else 0)"
)
GLOBAL_DEFINITIONS = "n_nodes = the number of objects of the event, as float32"
SELECTION_NOTE = (
    "eventgnn's object selection, applied by every reader before graphs are built (paper, "
    "section II): photons pt >= photon_pt, |eta| <= photon_eta outside the crack; electrons "
    "pt >= electron_pt, |eta| <= electron_eta outside the crack; muons pt >= muon_pt, |eta| <= "
    "muon_eta; anti-kt R=0.4 jets pt >= jet_pt, |eta| <= jet_eta; jets within Delta R < "
    "overlap_dr of a selected photon or lepton removed; one MET object when the source has MET; "
    "events with no selected object are not classified. Not part of the ONNX graph."
)


class GraphLogits(nn.Module):
    """:class:`EventGNN` on raw graph tensors: what the ONNX graph computes.

    Shapes:
        ``x [N, 7]``, ``edge_index [2, E]``, ``edge_attr [E, 3]``, ``u [B, 1]``, ``batch [N]``
        -> ``logits [B, n_outputs]``.
    """

    def __init__(self, model: EventGNN):
        super().__init__()
        self.model = model

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor,
        u: torch.Tensor,
        batch: torch.Tensor,
    ) -> torch.Tensor:
        return self.model.head(self.model.encode_tensors(x, edge_index, edge_attr, u, batch))


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_onnx` wrote: the file, the exporter and opset, and the parity check's
    largest |ONNX - PyTorch| logit difference (None when not checked)."""

    path: Path
    exporter: str
    opset: int
    max_difference: float | None


def random_graphs(
    n_events: int = 0, max_objects: int = 20, seed: int = 0, counts=None
) -> tuple[torch.Tensor, ...]:
    """The five input tensors of ``n_events`` random events of 1 to ``max_objects`` objects (or of
    events with the given ``counts``) with physical-looking features, for tracing and checks."""
    rng = np.random.default_rng(seed)
    if counts is None:
        counts = rng.integers(1, max_objects + 1, n_events)
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    kind = rng.integers(0, len(ObjectType), n)
    pt = rng.exponential(40.0, n) + 20.0
    eta = np.where(kind == ObjectType.MET, 0.0, rng.uniform(-2.5, 2.5, n))
    lepton = (kind == ObjectType.ELECTRON) | (kind == ObjectType.MUON)
    cols = {
        "pt": pt,
        "eta": eta,
        "phi": rng.uniform(-np.pi, np.pi, n),
        "energy": pt * np.cosh(eta),
        "kind": kind,
        "btag": np.where(kind == ObjectType.JET, rng.integers(0, 2, n), 0),
        "charge": np.where(lepton, rng.choice([-1, 1], n), 0),
    }
    x = torch.from_numpy(np.stack([cols[f] for f in NODE_FEATURES], 1).astype(np.float32))
    b = make_batch(x, torch.from_numpy(counts))
    return b.x, b.edge_index, b.edge_attr, b.u, b.batch


def _example_inputs() -> tuple[torch.Tensor, ...]:
    # events of 2, 3 and 4 objects: N = 9, E = 20, B = 3, all distinct and > 1, so that the
    # tracer specialises none of the dynamic sizes to a constant
    return random_graphs(counts=[2, 3, 4], seed=1)


def available_exporters() -> tuple[str, ...]:
    """The exporters the installed torch offers (``dynamo`` needs torch >= 2.5 and onnxscript)."""
    has_dynamo = "dynamo" in inspect.signature(torch.onnx.export).parameters
    has_onnxscript = importlib.util.find_spec("onnxscript") is not None
    legacy = ("legacy",)  # torch.onnx.export(dynamo=False) in every torch eventgnn supports
    return (("dynamo",) if has_dynamo and has_onnxscript else ()) + legacy


def _torch_export(module: nn.Module, path: Path, exporter: str, opset: int | None) -> None:
    args = _example_inputs()
    kwargs = {"input_names": list(INPUT_NAMES), "output_names": [OUTPUT_NAME]}
    if opset is not None:
        kwargs["opset_version"] = opset
    if exporter == "dynamo":
        from torch.export import Dim

        nodes, edges, events = Dim("nodes"), Dim("edges"), Dim("events")
        kwargs["dynamic_shapes"] = {
            "x": {0: nodes},
            "edge_index": {1: edges},
            "edge_attr": {0: edges},
            "u": {0: events},
            "batch": {0: nodes},
        }
        kwargs.update(dynamo=True, external_data=False, verbose=False)
    else:
        kwargs["dynamic_axes"] = {
            "x": {0: "nodes"},
            "edge_index": {1: "edges"},
            "edge_attr": {0: "edges"},
            "u": {0: "events"},
            "batch": {0: "nodes"},
            OUTPUT_NAME: {0: "events"},
        }
        if "dynamo" in inspect.signature(torch.onnx.export).parameters:
            kwargs["dynamo"] = False
    loggers = [logging.getLogger(name) for name in THIRD_PARTY_NOTICES]
    with warnings.catch_warnings(), torch.no_grad():
        # the exporters' own notices (legacy exporter deprecated, axis names merged, torchvision
        # skipped) say nothing about this model; real problems raise, and the parity check follows
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*axis name.*")
        for logger in loggers:
            logger.addFilter(_no_third_party_notice)
        try:
            torch.onnx.export(module, args, str(path), **kwargs)
        finally:
            for logger in loggers:
                logger.removeFilter(_no_third_party_notice)


THIRD_PARTY_NOTICES: dict[str, tuple[str, ...]] = {
    # the dynamo exporter logs each torchvision operator it skips where torchvision is absent
    "torch.onnx._internal.exporter._registration": ("torchvision is not installed",),
    # onnxscript's optimiser, once per Split node of every export: the graph is right unfolded
    "onnxscript.optimizer._constant_folding": ("Skipping constant folding for op ",),
    # an opset below torchlib's is converted to, or not: export_onnx compares the opset written
    # with the one asked for and refuses a difference, with its own message
    "torch.onnx._internal.exporter._compat": ("Setting ONNX exporter to use operator set",),
    "onnxscript.version_converter": (
        "The model version conversion is not supported by the onnxscript version converter",
        "Failed to convert the model to the target version",
    ),
}
"""Log records of torch and onnxscript kept off the screen during an export, by logger and
message start: notices about the exporter, not about this model (any other record passes)."""


def _no_third_party_notice(record: logging.LogRecord) -> bool:
    starts = THIRD_PARTY_NOTICES.get(record.name, ())
    return not str(record.msg).startswith(starts)


def onnx_metadata(ckpt: dict, run: str | os.PathLike, exporter: str, opset: int) -> dict[str, str]:
    """The ``metadata_props`` of an exported model (every value a string; lists and records as
    JSON). Keys are documented in docs/export.md."""
    from .._core.version import __version__

    task, feats = ckpt["task"], ckpt["features"]
    kind = task["kind"]
    scores = {
        "multiclass": "softmax over the outputs: logits[:, k] -> probability of class_names[k]",
        "binary": "sigmoid(logits[:, 0]) = probability of the signal (class_names[1]: the "
        "processes in eventgnn.signal; the other eventgnn.processes are the background)",
        "multilabel": "outputs 0-7 (the multiplicities) as they are (regression); sigmoid of "
        "outputs 8-40 (bin probabilities); names in class_names",
    }[kind]
    norm = {
        k: np.asarray(v, dtype=np.float64).round(8).tolist()
        for k, v in ckpt["normalization"].items()
    }
    meta = {
        "eventgnn.format": ONNX_FORMAT,
        "eventgnn.version": __version__,
        "eventgnn.run": str(Path(run).resolve()),
        "eventgnn.model_version": str(ckpt.get("version", "unknown")),
        "eventgnn.provenance": json.dumps(ckpt.get("provenance", {}), default=str),
        "eventgnn.exporter": exporter,
        "eventgnn.opset": str(opset),
        "eventgnn.torch_version": torch.__version__,
        "eventgnn.inputs": json.dumps(list(INPUT_NAMES)),
        "eventgnn.output": OUTPUT_NAME,
        "eventgnn.node_features": json.dumps(list(feats["node"])),
        "eventgnn.edge_features": json.dumps(list(feats["edge"])),
        "eventgnn.global_features": json.dumps(list(feats["global"])),
        "eventgnn.node_definitions": NODE_DEFINITIONS,
        "eventgnn.edge_definitions": EDGE_DEFINITIONS,
        "eventgnn.global_definitions": GLOBAL_DEFINITIONS,
        "eventgnn.object_types": json.dumps({t.name.lower(): int(t) for t in ObjectType}),
        "eventgnn.graph": GRAPH_RECIPE,
        "eventgnn.standardisation": "inside the graph: log of pt and energy (clamped at 1e-3), "
        "then (value - mean) / std with the statistics in eventgnn.normalization",
        "eventgnn.normalization": json.dumps(norm),
        "eventgnn.selection": json.dumps(asdict(DEFAULT_CUTS)),
        "eventgnn.selection_note": SELECTION_NOTE,
        "eventgnn.task_kind": kind,
        "eventgnn.task_name": str(task.get("name", "")),
        "eventgnn.class_names": json.dumps(list(task["names"])),
        "eventgnn.processes": json.dumps(list(task.get("processes", []))),
        "eventgnn.signal": json.dumps(list(task.get("signal", []))),
        "eventgnn.scores": scores,
    }
    return meta


def _opset_of(proto) -> int:
    return max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))


def scatter_problems(proto) -> list[str]:
    """Scatter nodes of an ONNX graph that do not sum rows sharing an index reliably: anything but
    ``ScatterElements(reduction="add")`` (a scatter without reduction keeps one row; onnxruntime's
    multi-threaded ``ScatterND(reduction="add")`` races, microsoft/onnxruntime#18048, #23396)."""
    problems = []
    for node in proto.graph.node:
        if not node.op_type.startswith("Scatter"):
            continue
        reduction = next((a.s.decode() for a in node.attribute if a.name == "reduction"), "none")
        if node.op_type != "ScatterElements" or reduction != "add":
            problems.append(f"{node.op_type}(reduction={reduction}) '{node.name}'")
    return problems


def check_onnx(
    path: str | os.PathLike, module: nn.Module, batch_sizes=(1, 7, 64), seed: int = 0
) -> float:
    """Largest |onnxruntime - PyTorch| logit difference over random batches of ``batch_sizes``
    events of 1 to 20 objects (a one-event batch of one object, with no edges, included); NaN
    when a logit of either is not finite (so that no tolerance accepts it)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    cases = [random_graphs(n, seed=seed + k) for k, n in enumerate(batch_sizes)]
    cases.append(random_graphs(1, max_objects=1, seed=seed))
    for inputs in cases:
        with torch.no_grad():
            ref = module(*inputs).numpy()
        (out,) = session.run(
            [OUTPUT_NAME], dict(zip(INPUT_NAMES, (t.numpy() for t in inputs), strict=True))
        )
        if out.shape != ref.shape:
            raise RuntimeError(f"{path}: ONNX logits have shape {out.shape}, PyTorch {ref.shape}")
        difference = np.abs(out.astype(np.float64) - ref)
        if not np.isfinite(difference).all():
            return float("nan")
        worst = max(worst, float(difference.max()))
    return worst


def export_onnx(
    run: str | os.PathLike,
    path: str | os.PathLike,
    *,
    exporter: str | None = None,
    opset: int | None = None,
    check: bool = True,
) -> ExportResult:
    """Export the model of ``run`` (a run directory or ``model.pt``) to the ONNX file ``path``.

    Args:
        run: the run directory (or its ``model.pt``).
        path: the ``.onnx`` file to write (replaced atomically); never the model file itself.
        exporter: ``"dynamo"`` (``torch.onnx.export(dynamo=True)``) or ``"legacy"``
            (``dynamo=False``, TorchScript-based); None: ``dynamo`` where the installed torch has
            it (:func:`available_exporters`), else ``legacy``.
        opset: ONNX opset (None: the exporter's default; the legacy exporter needs >= 16). An
            opset the exporter does not write (the dynamo one converts to older opsets where it
            can: to 17, not to 13) is refused: the file is in the opset asked for or absent.
        check: run the written file with onnxruntime on random batches and refuse it (no file
            written) if any logit differs from PyTorch's by more than :data:`CHECK_TOLERANCE`.

    Returns an :class:`ExportResult`. Raises ``ValueError`` for an unusable exporter, opset or
    output path and ``RuntimeError`` when the check fails (any non-finite logit fails it).
    """
    import onnx

    from ..train.checkpoint import load_model

    path = check_output(run, path)
    available = available_exporters()
    exporter = exporter or available[0]
    if exporter not in EXPORTERS:
        raise ValueError(f"unknown exporter '{exporter}'; known: {', '.join(EXPORTERS)}")
    if exporter not in available:
        raise ValueError(
            f"exporter '{exporter}' needs torch >= 2.5 and the onnxscript package (installed: "
            f"torch {torch.__version__}); use exporter 'legacy' or install eventgnn[export]"
        )
    if exporter == "legacy" and opset is not None and opset < MIN_LEGACY_OPSET:
        raise ValueError(
            f"opset {opset} is too old for the legacy exporter: the model's scatter-sum needs "
            f"ScatterElements with reduction='add' (opset >= {MIN_LEGACY_OPSET}); below it the "
            "exported sums would be wrong"
        )
    if check and importlib.util.find_spec("onnxruntime") is None:
        raise ImportError(
            "checking the export needs onnxruntime (pip install 'eventgnn[export]'); "
            "or skip the check (check=False, --no-check)"
        )
    model, ckpt = load_model(run)
    module = GraphLogits(model.float().eval()).eval()
    with tempfile.TemporaryDirectory(prefix="eventgnn-export-") as tmp:
        raw = Path(tmp) / "model.onnx"
        _torch_export(module, raw, exporter, opset)
        proto = onnx.load(str(raw))
    used_opset = _opset_of(proto)
    if exporter == "legacy" and used_opset < MIN_LEGACY_OPSET:
        raise ValueError(
            f"the legacy exporter wrote opset {used_opset}; the model's sums need opset >= "
            f"{MIN_LEGACY_OPSET} (pass opset={MIN_LEGACY_OPSET} or newer)"
        )
    if opset is not None and used_opset != opset:
        raise ValueError(
            f"opset {opset}: the {exporter} exporter of torch {torch.__version__} cannot write "
            f"this model in it (it wrote opset {used_opset}); nothing written to {path}; pass "
            f"--opset {used_opset}, leave --opset out, or try the other exporter"
        )
    problems = scatter_problems(proto)
    if problems:
        raise RuntimeError(
            f"the {exporter} exporter of torch {torch.__version__} wrote scatter nodes that do "
            f"not sum reliably ({', '.join(problems[:3])}); nothing written to {path}; try the "
            "other exporter"
        )
    onnx.helper.set_model_props(proto, onnx_metadata(ckpt, run, exporter, used_opset))
    proto.doc_string = (
        f"eventgnn {ckpt['task']['kind']} classifier from {Path(run).resolve()}: raw graph "
        "tensors x, edge_index, edge_attr, u, batch (as eventgnn.to_graph builds them) -> logits"
    )
    onnx.checker.check_model(proto)
    with atomic_path(path) as tmp:
        onnx.save(proto, str(tmp))
        worst = check_onnx(tmp, module) if check else None
        if worst is not None and math.isnan(worst):
            raise RuntimeError(
                f"the exported model's logits are not finite on random events (NaN or infinite, "
                f"in PyTorch or onnxruntime){_non_finite_weights(model)}; nothing written to "
                f"{path}"
            )
        if worst is not None and not worst <= CHECK_TOLERANCE:
            raise RuntimeError(
                f"the {exporter} exporter of torch {torch.__version__} wrote a model whose logits "
                f"differ from PyTorch's by up to {worst:.3g} (> {CHECK_TOLERANCE:g}); nothing "
                f"written to {path}; try the other exporter"
            )
    return ExportResult(path, exporter, used_opset, worst)


def check_output(run: str | os.PathLike, path: str | os.PathLike) -> Path:
    """``path`` as a :class:`~pathlib.Path` when it can take the ONNX file of ``run``'s model:
    a ``.onnx`` file that is not the model file itself (also through a link)."""
    from ..train.checkpoint import model_path

    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise ValueError(f"--onnx {path}: expected a file name ending in .onnx")
    source = model_path(run)
    if path.exists() and source.exists() and os.path.samefile(path, source):
        raise ValueError(
            f"--onnx {path} is the model file {source} itself; writing it would destroy the model"
        )
    return path


def _non_finite_weights(model: nn.Module) -> str:
    """``: its weights hold non-finite values (names)`` when some do, else empty."""
    bad = [k for k, v in model.state_dict().items()
           if v.is_floating_point() and not torch.isfinite(v).all()]  # fmt: skip
    return f": the model's weights hold non-finite values ({', '.join(bad[:3])})" if bad else ""
