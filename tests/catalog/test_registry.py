"""Shipped pretrained models: publish a tiny run with its card into an ``EVENTGNN_MODELS``
folder, then use it by name everywhere a run is taken (``models``, ``info``, ``evaluate``,
``predict``, ``export``, ``finetune --from``, ``EventClassifier.load``); checksums, unknown
names, ``--from scratch`` and the default model of ``finetune`` without ``--from``."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import awkward as ak
import pytest
import torch
from hand_events import TINY, random_events

import eventgnn
from eventgnn import cli
from eventgnn._core.errors import ChecksumError, RegistryError
from eventgnn.analysis.scan import ScanConfig, scan_record
from eventgnn.catalog import registry
from eventgnn.catalog.registry import CARD_FIELDS, DEFAULT_PRETRAINED
from eventgnn.cli import main
from eventgnn.config import ModelConfig
from eventgnn.deploy.publish import check_model, publish
from eventgnn.events.parquet import record_path, write_events
from eventgnn.model.eventgnn import EventGNN, count_parameters
from eventgnn.train.checkpoint import load_model

NAME = "tiny-multiclass-v1"
EXTRA = {
    "description": "a tiny multiclass model of random events (tests only)",
    "intended_use": "the test suite",
    "limitations": "random events, two epochs: it has learned nothing",
    "data": {"generator": "hand_events.random_events"},
}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Three processes of random events; the wh shard has a generator record beside it."""
    folder = tmp_path_factory.mktemp("registry_data")
    for k, p in enumerate(["wh", "zh", "tt"]):
        write_events(random_events(60, p, seed=30 + k, shift=40.0 * k), folder / f"{p}.parquet")
    record = {"made_by": "eventgnn generate", "eventgnn": "0.1.0", "generator": 2,
              "process": "wh", "settings": ["HiggsSM:ffbar2HW = on"], "seed": 7, "events": 60,
              "mpi": True}  # fmt: skip
    record_path(folder / "wh.parquet").write_text(json.dumps(record))
    return folder


@pytest.fixture(scope="module")
def run(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("registry_run") / "pre"
    args = ["pretrain", "--data", str(data), "--epochs", "2", "--out", str(out), *TINY]
    assert main(args) == 0
    return out


@pytest.fixture
def models(run, tmp_path, monkeypatch) -> Path:
    """An ``EVENTGNN_MODELS`` folder holding the tiny run published as :data:`NAME`, and no
    shipped models."""
    folder = tmp_path / "models"
    publish(run, NAME, folder, EXTRA)
    monkeypatch.setenv("EVENTGNN_MODELS", str(folder))
    # the package's own models stay out of these tests (their listings, the default model)
    (tmp_path / "shipped").mkdir()
    monkeypatch.setattr(registry, "model_dirs", lambda: (tmp_path / "shipped", folder))
    monkeypatch.chdir(tmp_path)  # a default output folder lands here, not in the repository
    return folder


@pytest.mark.slow  # ~25 s: both shipped models scored and checked
def test_the_shipped_models_match_their_cards(monkeypatch, tmp_path):
    """Every model the package ships loads with ``weights_only=True``, matches its checksum and
    card, and scores events regenerated here as its card says (within three standard errors)."""
    monkeypatch.delenv("EVENTGNN_MODELS", raising=False)
    monkeypatch.setenv("EVENTGNN_CACHE", str(tmp_path))
    for card in registry.list_models():
        inside = torch.load(card["file"], map_location="cpu", weights_only=True)["card"]
        outside = ("sha256", "size_bytes", "file", "source")  # its checksum, path and folder
        assert inside == {k: v for k, v in card.items() if k not in outside}
        model, ckpt = load_model(card["name"])  # checks the SHA-256 against the card
        assert count_parameters(model) == card["architecture"]["parameters"]
        assert ckpt["task"]["kind"] == card["task"]["kind"]
        assert check_model(card["name"], events=200, jobs=2, log=lambda line: None)["consistent"]


def test_check_model_regenerates_and_compares_with_the_card(tmp_path, monkeypatch, capsys):
    """A tiny model pretrained on generated events passes ``models NAME --check``; the same
    model with a card claiming another accuracy fails it, with the numbers."""
    from eventgnn.generate.run import generate

    monkeypatch.setenv("EVENTGNN_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    generate(["ggf_h", "zh"], data, 150, seed=11, mpi=False, progress=False)
    run = tmp_path / "run"
    args = ["--data", str(data), "--epochs", "15", "--out", str(run), *TINY, "train.lr=3e-3"]
    assert main(["pretrain", *args]) == 0
    folder = tmp_path / "models"
    _, card_path = publish(run, "tiny-check-v1", folder, EXTRA)
    monkeypatch.setenv("EVENTGNN_MODELS", str(folder))
    assert main(["models", "tiny-check-v1", "--check", "--events", "150"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "on 300 regenerated events" in out and "consistent" in out
    card = json.loads(card_path.read_text())
    acc = card["metrics"]["accuracy"]
    card["metrics"]["accuracy"] = acc + 0.3 if acc < 0.6 else acc - 0.3  # > 3 standard errors
    card_path.write_text(json.dumps(card))
    assert main(["models", "tiny-check-v1", "--check", "--events", "150"]) == 1
    assert "not consistent with its card" in capsys.readouterr().err


def test_none_ship(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(registry, "model_dirs", lambda: (empty,))
    monkeypatch.delenv("EVENTGNN_MODELS", raising=False)
    assert registry.list_models() == [] and eventgnn.list_models() == []
    assert main(["models"]) == 0
    assert "no pretrained model ships with this version" in capsys.readouterr().out
    with pytest.raises(RegistryError, match="no pretrained model ships with this version"):
        registry.model_file(DEFAULT_PRETRAINED)


def test_the_package_folder_is_package_data():
    folder = registry.model_dirs()[0]
    assert (
        folder == Path(eventgnn.__file__).parent / "catalog" / "models"
        and (folder / "README.md").is_file()
    )


def test_publish_writes_the_model_and_its_card(run, models, capsys):
    pt, card_path = models / f"{NAME}.pt", models / f"{NAME}.json"
    card = json.loads(card_path.read_text())
    assert set(CARD_FIELDS) <= set(card)
    assert card["sha256"] == registry.sha256_file(pt) and card["size_bytes"] == pt.stat().st_size
    # the run's model.pt with the card inside (all of it but the file's own checksum and size)
    ckpt = torch.load(pt, weights_only=True)
    source = torch.load(run / "model.pt", weights_only=True)
    assert card["source_sha256"] == registry.sha256_file(run / "model.pt")
    assert set(ckpt) == set(source) | {"card"}
    assert all(torch.equal(ckpt["state_dict"][k], v) for k, v in source["state_dict"].items())
    assert ckpt["card"] == {k: v for k, v in card.items() if k not in ("sha256", "size_bytes")}
    model = EventGNN(ModelConfig(**ckpt["model_config"]), ckpt["n_outputs"])
    assert card["architecture"]["parameters"] == count_parameters(model)
    assert card["architecture"]["model_config"]["hidden"] == 16
    assert card["task"]["names"] == ["tt", "wh", "zh"]
    data = card["data"]
    assert data["n_events"] == 180 and data["events_per_class"] == {"tt": 60, "wh": 60, "zh": 60}
    assert data["generator"] == "hand_events.random_events"  # merged from card_extra
    assert data["packages_at_publish"]["torch"] == torch.__version__
    wh = data["shards"]["wh"]  # from the generator record beside the shard
    assert wh["seeds"] == [7] and wh["settings"] == ["HiggsSM:ffbar2HW = on"]
    assert wh["generator"] == [2] and wh["made_by"] == ["eventgnn generate"]
    assert card["training"]["train"]["epochs"] == 2 and card["training"]["epochs_run"] == 2
    assert card["machine"]["cores"] >= 1 and card["machine"]["device"] == "cpu"
    test = json.loads((run / "metrics.json").read_text())
    assert card["wall_time_s"] == test["train_time_s"]
    assert card["metrics"]["accuracy"] == test["accuracy"]
    assert set(card["metrics"]["per_class"]) == {"tt", "wh", "zh"}
    assert card["intended_use"] == EXTRA["intended_use"] and card["limitations"]

    # the same run again is fine: with the same card both files stay as they are (a rerun of a
    # finished recipe keeps the checksum, whatever the date), with another card both change
    card_path = models / f"{NAME}.json"
    card_path.write_text(card_path.read_text().replace(card["published"], "2001-01-01"))
    sha = registry.sha256_file(pt)
    said = []
    publish(run, NAME, models, EXTRA, log=said.append)
    assert registry.sha256_file(pt) == sha and '"published": "2001-01-01"' in card_path.read_text()
    publish(run, NAME, models, {**EXTRA, "limitations": "one more"}, log=said.append)
    assert registry.sha256_file(pt) != sha and registry.get_card(NAME)["limitations"] == "one more"
    new = registry.sha256_file(pt)
    assert said == [f"{NAME} in {models}: unchanged (same run, same card)",
                    f"{NAME} in {models}: published (sha256 {new[:12]})"]  # fmt: skip
    assert registry.get_card(NAME)["sha256"] == registry.sha256_file(pt)
    other = models.parent / "other"
    shutil.copytree(run, other)
    source["metrics"] = {"accuracy": 0.0}
    torch.save(source, other / "model.pt")
    with pytest.raises(RegistryError, match="exists, made from another file"):
        publish(other, NAME, models, EXTRA)
    # the file describes itself away from its registry folder
    shutil.copy(pt, other / "model.pt")
    capsys.readouterr()
    assert main(["info", str(other)]) == 0
    assert f"model card {NAME} (file {other / 'model.pt'})" in capsys.readouterr().out


def test_a_card_does_not_describe_data_that_changed_since_training(run, tmp_path):
    """Shards added to (or rewritten in) the data folder after training are not the model's
    data: the card does not summarise their records, and says why."""
    changed = tmp_path / "changed"
    shutil.copytree(run, changed)
    ckpt = torch.load(changed / "model.pt", weights_only=True)
    ckpt["provenance"]["files"] = "0" * 16  # as if the folder had other files when it trained
    torch.save(ckpt, changed / "model.pt")
    _, card_path = publish(changed, NAME, tmp_path / "models", EXTRA)
    data = json.loads(card_path.read_text())["data"]
    assert data["shards"] is None
    assert (
        "changed since the model was trained (fingerprint 0000000000000000 then"
        in (data["shards_note"])
    )


def test_publish_refusals(run, tmp_path):
    with pytest.raises(RegistryError, match="lacks 'limitations'"):
        publish(run, NAME, tmp_path, {k: v for k, v in EXTRA.items() if k != "limitations"})
    for bad in ("../x", "Tiny-v1", "scratch", "a/b", "-v1"):
        with pytest.raises(RegistryError, match="is not allowed"):
            publish(run, bad, tmp_path, EXTRA)
    with pytest.raises(RegistryError, match="'sha256' is filled by publish"):
        publish(run, NAME, tmp_path, {**EXTRA, "sha256": "0"})
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no such model file"):
        publish(tmp_path / "empty", NAME, tmp_path, EXTRA)


def test_models_command(models, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    card = json.loads((models / f"{NAME}.json").read_text())
    assert NAME in out and EXTRA["description"] in out
    assert f"{card['architecture']['parameters']:,} parameters" in out and "180 events" in out
    assert f"test accuracy {card['metrics']['accuracy']:.4f}" in out
    assert main(["models", NAME, "--full"]) == 0
    out = capsys.readouterr().out
    assert card["sha256"] in out and "intended_use: the test suite" in out
    # the short card by default: the Markdown table, a few dozen lines against the whole YAML
    assert main(["models", NAME]) == 0
    short = capsys.readouterr().out
    assert short.startswith(f"### {NAME}\n") and len(short.splitlines()) < len(out.splitlines())
    assert main(["models", "--full"]) == 1
    assert "models --full: name the model" in capsys.readouterr().err
    assert main(["models", "nosuch-v1"]) == 1
    assert f"known models: {NAME}" in capsys.readouterr().err


def test_the_card_as_markdown(models, capsys):
    """``models NAME --markdown``: the card as docs/models.md shows it, one row per class."""
    assert main(["models", NAME, "--markdown"]) == 0
    out = capsys.readouterr().out
    card = json.loads((models / f"{NAME}.json").read_text())
    assert out.startswith(f"### {NAME}\n\n{EXTRA['description']}\n")
    assert f"SHA-256 `{card['sha256']}`" in out and "180 events, 60 per class" in out
    assert f"{card['architecture']['parameters']:,} parameters" in out
    assert f"| limitations | {EXTRA['limitations']} |" in out
    for cls, m in card["metrics"]["per_class"].items():
        assert f"| {cls} | {m['n_events']:,} | {m['accuracy']:.3f} | {m['auc']:.3f} |" in out
    assert "| seeds | wh: 7 |" in out  # only wh's shard has a record
    assert main(["models", "--markdown"]) == 1
    assert "models --markdown: name the model" in capsys.readouterr().err


def test_docs_show_every_shipped_card(monkeypatch):
    """docs/models.md holds each shipped model's card as ``models NAME --markdown`` prints it
    (so the documented card is the shipped one), or says that none ships."""
    text = (Path(__file__).parents[2] / "docs" / "models.md").read_text()
    monkeypatch.delenv("EVENTGNN_MODELS", raising=False)
    cards = registry.list_models()
    if not cards:
        assert "No model ships in this version" in text
    for card in cards:
        assert registry.card_markdown(card) in text, f"docs/models.md: {card['name']}'s card"


def test_info_evaluate_predict_by_name(models, data, tmp_path, capsys):
    assert main(["info", NAME]) == 0
    out = capsys.readouterr().out
    assert f"model {NAME} from EVENTGNN_MODELS={models}" in out and "parameters:" in out
    assert f"model card {NAME}" in out and "limitations:" in out

    # evaluate: the default output folder is ./evaluate-NAME, never the package's folder
    assert main(["evaluate", "--model", NAME, "--data", str(data)]) == 0
    metrics = json.loads((tmp_path / f"evaluate-{NAME}" / "metrics.json").read_text())
    assert metrics["n_events"] == 180 and metrics["run"] == NAME
    assert not (models / "evaluate").exists()
    assert main(["evaluate", "--model", NAME, "--data", str(data), "--out", "ev"]) == 0
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text()) == metrics
    assert main(["evaluate", "--model", NAME]) == 0  # its own test split: the data is here
    assert json.loads((tmp_path / f"evaluate-{NAME}" / "metrics.json").read_text())["split"] == (
        "test"
    )

    assert main(["predict", "--model", NAME, str(data / "wh.parquet"), "--out", "p.parquet"]) == 0
    scores = ak.from_parquet(tmp_path / "p.parquet")
    assert len(scores) == 60 and {"score_tt", "score_wh", "score_zh"} <= set(scores.fields)

    clf = eventgnn.EventClassifier.load(NAME)
    assert clf.name == NAME and clf.card["sha256"] == registry.get_card(NAME)["sha256"]
    assert clf.path == models / f"{NAME}.pt" and NAME in repr(clf)
    probs = clf.predict(eventgnn.read_events(data / "wh.parquet"))
    assert probs.shape == (60, 3)
    assert abs(probs[:, 1] - scores.score_wh.to_numpy()).max() < 1e-5


@pytest.mark.skipif(
    importlib.util.find_spec("onnx") is None, reason="export needs onnx (eventgnn[export])"
)
def test_export_by_name(models, tmp_path, capsys):
    args = ["export", "--model", NAME, "--onnx", "m.onnx", "--exporter", "legacy", "--no-check"]
    assert main(args) == 0
    assert (tmp_path / "m.onnx").stat().st_size > 0


def _finetune(data, out, *options, overrides=()) -> dict:
    """Run ``eventgnn finetune`` on wh_vs_zh; its checkpoint. ``overrides`` apply after TINY."""
    args = ["finetune", "--task", "wh_vs_zh", "--data", str(data), "--epochs", "1",
            "--train-size", "20", "--out", str(out), *options, *TINY, *overrides]  # fmt: skip
    assert main(args) == 0
    return torch.load(Path(out) / "model.pt", weights_only=True)


def test_finetune_from_name_and_from_scratch(models, data, tmp_path, capsys):
    capsys.readouterr()
    ckpt = _finetune(data, tmp_path / "ft", "--from", NAME, overrides=["model.hidden=32"])
    out = capsys.readouterr().out
    assert f"finetuning model {NAME} from EVENTGNN_MODELS={models}" in out
    sha = registry.get_card(NAME)["sha256"]
    assert ckpt["pretrained_from"] == NAME and ckpt["config"]["pretrained"] == NAME
    assert ckpt["pretrained_model"]["source"] == f"EVENTGNN_MODELS={models}"
    assert not ckpt["pretrained_model"]["shipped"] and ckpt["pretrained_model"]["sha256"] == sha
    assert ckpt["config"]["model"]["hidden"] == 16  # the shipped model's architecture
    assert main(["info", str(tmp_path / "ft")]) == 0
    assert (
        f"finetuned from: model {NAME} from EVENTGNN_MODELS={models} (mode full, sha256 {sha[:12]})"
        in (capsys.readouterr().out)
    )

    ckpt = _finetune(data, tmp_path / "scratch", "--from", "scratch", overrides=["model.hidden=8"])
    assert "training from scratch (--from scratch)" in capsys.readouterr().out
    assert ckpt["pretrained_from"] is None and "pretrained_model" not in ckpt
    assert ckpt["config"]["model"]["hidden"] == 8

    # the Python API keeps the name too
    mine = eventgnn.EventClassifier.load(NAME).finetune(
        task="wh_vs_zh", data=str(data), out=tmp_path / "api", epochs=1, train_size=20,
        overrides=TINY, log=lambda s: None,
    )  # fmt: skip
    assert mine.checkpoint["pretrained_from"] == NAME


def test_finetune_without_from_uses_the_default_model_when_one_ships(
    run, models, data, tmp_path, capsys
):
    capsys.readouterr()
    ckpt = _finetune(data, tmp_path / "none")
    assert "no shipped pretrained model in this version; training from scratch" in (
        capsys.readouterr().out
    )
    assert ckpt["pretrained_from"] is None

    publish(run, DEFAULT_PRETRAINED, models, EXTRA)
    ckpt = _finetune(data, tmp_path / "default")
    out = capsys.readouterr().out
    assert f"no --from: starting from the shipped pretrained model {DEFAULT_PRETRAINED}" in out
    assert ckpt["pretrained_from"] == DEFAULT_PRETRAINED
    assert ckpt["pretrained_model"]["source"] == f"EVENTGNN_MODELS={models}"
    # the library's own finetune (EventClassifier, scan) still means from scratch by None
    from eventgnn.classifier import train_classifier

    clf = train_classifier(task="wh_vs_zh", data=str(data), out=tmp_path / "lib", epochs=1,
                           train_size=20, overrides=TINY, log=lambda s: None)  # fmt: skip
    assert clf.checkpoint["pretrained_from"] is None


def test_a_damaged_file_is_refused(models, data, capsys):
    path = models / f"{NAME}.pt"
    expected = registry.get_card(NAME)["sha256"]
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(raw)
    found = registry.sha256_file(path)
    with pytest.raises(ChecksumError) as err:
        registry.model_file(NAME)
    assert str(path) in str(err.value) and expected in str(err.value) and found in str(err.value)
    finetune = ["finetune", "--task", "wh_vs_zh", "--data", str(data), "--from", NAME]
    for argv in (["info", NAME], ["evaluate", "--model", NAME, "--data", str(data)], finetune):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert f"sha256 expected {expected}, found {found}" in err and err.count("\n") == 1


def test_a_wrong_name_fails_before_data_is_made(models, monkeypatch, capsys):
    def no_generation(*args, **kwargs):
        raise AssertionError("the built-in data must not be generated for a wrong --from")

    monkeypatch.setattr(cli, "_default_data", no_generation)
    assert main(["finetune", "--task", "wh_vs_zh", "--from", "nosuch-v1"]) == 1
    assert f"known models: {NAME}" in capsys.readouterr().err


def test_names_and_paths(models, run, tmp_path, capsys):
    assert registry.model_file(run) == run  # an existing path is itself
    assert registry.model_file(NAME) == models / f"{NAME}.pt"
    with pytest.raises(RegistryError, match=f"no model of that name; known models: {NAME}"):
        registry.model_file("nosuch-v1")
    assert main(["info", "nosuch-v1"]) == 1
    assert f"known models: {NAME}" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(tmp_path / "nope")]) == 1
    assert "no such model file" in capsys.readouterr().err
    # a user folder overrides a shipped name; a card without its file is an error
    (models / "broken-v1.json").write_text(
        (models / f"{NAME}.json").read_text().replace(NAME, "broken-v1")
    )
    with pytest.raises(RegistryError, match="has a card but no model file"):
        registry.model_file("broken-v1")
    (models / "bad-v1.json").write_text("{}")
    with pytest.raises(RegistryError, match="lacks field 'format'"):
        registry.list_models()


def test_missing_models_folder_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("EVENTGNN_MODELS", str(tmp_path / "nope"))
    with pytest.raises(RegistryError, match="no such folder"):
        registry.list_models()


def test_scan_records_a_shipped_model_by_name_and_checksum(models, tmp_path):
    config = ScanConfig(task="wh_vs_zh", sizes=(10,), seeds=1, setups=("multiclass",),
                        pretrained={"multiclass": NAME}, out=str(tmp_path / "s"))  # fmt: skip
    assert scan_record(config)["setups"]["multiclass"] == {
        "pretrained": NAME,
        "sha256": registry.get_card(NAME)["sha256"],
    }


def test_the_build_recipe_publishes_both_models_with_the_foreign_sample(
    run, data, tmp_path, capsys
):
    """``data_recipes/pretrained/publish_models.py`` (build.sh's last step) publishes the
    multiclass and the multilabel run, and writes how the multiclass model classifies a foreign
    sample into that card's limitations: the share it states is the model's own argmax share."""
    path = Path(__file__).resolve().parents[2] / "data_recipes/pretrained/publish_models.py"
    spec = importlib.util.spec_from_file_location("publish_models", path)
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    work = tmp_path / "work"
    (work / "runs").mkdir(parents=True)
    for task in ("multiclass", "multilabel"):  # the tiny multiclass run stands in for both
        shutil.copytree(run, work / "runs" / task)
    argv = [str(work), str(tmp_path / "out"), "v7", "60",
            "--foreign", str(data), "wh", "the registry test's events"]  # fmt: skip
    recipe.main(argv)
    assert f"pretrain12-multiclass-v7 in {tmp_path / 'out'}: published" in capsys.readouterr().out
    cards = {t: json.loads((tmp_path / "out" / f"pretrain12-{t}-v7.json").read_text())
             for t in ("multiclass", "multilabel")}  # fmt: skip
    clf = eventgnn.EventClassifier.load(run)
    scores = clf.predict(eventgnn.read_events(data))
    share = (scores.argmax(1) == clf.classes.index("wh")).mean()
    assert (
        "of 180 events of the registry test's events run through"
        in cards["multiclass"]["limitations"]
    )
    assert f"{share:.1%} are called wh" in cards["multiclass"]["limitations"]
    assert "events of" not in cards["multilabel"]["limitations"]
    assert cards["multiclass"]["data"]["command"].endswith("--events 60 --seed 1")
    # a rerun of the finished recipe leaves both models as they are
    recipe.main(argv)
    assert capsys.readouterr().out.count(": unchanged (same run, same card)") == 2


def test_a_user_model_shadowing_a_shipped_name_is_named_for_its_folder(run, models, capsys):
    """Was: a model of ``EVENTGNN_MODELS`` with a shipped model's name was still called
    "shipped", and a card edited for another model was taken for the file it names."""
    shipped = models.parent / "shipped"
    publish(run, NAME, shipped, EXTRA)  # the same name in the package's folder
    card = registry.get_card(NAME)
    assert (
        card["file"] == str(models / f"{NAME}.pt") and card["source"] == f"EVENTGNN_MODELS={models}"
    )
    assert registry.model_label(card) == f"model {NAME} from EVENTGNN_MODELS={models}"
    assert main(["info", NAME]) == 0
    out = capsys.readouterr().out
    assert f"model {NAME} from EVENTGNN_MODELS={models}" in out and "shipped model" not in out
    assert f"(file {models / NAME}.pt, from EVENTGNN_MODELS={models})" in out
    assert main(["models"]) == 0
    assert f"{NAME} [from EVENTGNN_MODELS={models}]:" in capsys.readouterr().out

    path = models / f"{NAME}.json"
    good = path.read_text()
    for field, value in (("task", {**card["task"], "names": ["a", "b", "c"]}),
                         ("architecture", {**card["architecture"],
                                           "model_config": {**card["architecture"]["model_config"],
                                                            "hidden": 64}})):  # fmt: skip
        path.write_text(json.dumps({**json.loads(good), field: value}))
        assert main(["info", NAME]) == 1
        err = capsys.readouterr().err
        assert (
            f"the file of model {NAME} from EVENTGNN_MODELS={models} is not the model its card "
            f"describes: card field '{field}." in err
        ), err
