"""The process catalog, catalogs and tasks in data_recipes/."""

from __future__ import annotations

import pytest

from eventgnn.catalog.processes import (
    CatalogError,
    Task,
    get_catalog,
    get_process,
    get_task,
    list_processes,
    list_tasks,
)

PAPER_LHE_ONLY = {"thq", "ttgammagamma", "ttw", "ttt", "tttt"}


def test_pretrain12_needs_only_pythia():
    names = get_catalog("pretrain12")
    assert len(names) == 12 == len(set(names))
    assert not any(get_process(n).lhe_only for n in names)
    # the five stand-ins say which paper process they replace
    standins = {get_process(n).standin_for for n in names} - {None}
    assert standins == PAPER_LHE_ONLY


def test_paper12_is_the_papers_catalog():
    names = get_catalog("paper12")
    assert len(names) == 12 == len(set(names))
    assert {n for n in names if get_process(n).lhe_only} == PAPER_LHE_ONLY
    assert set(names) - PAPER_LHE_ONLY == {
        "ggf_h",
        "vbf_h",
        "wh",
        "zh",
        "tth",
        "single_top",
        "ttbar",
    }


def test_tasks_reference_known_processes_and_builtin_means_pythia_only():
    assert {"wh_vs_zh", "tth_cp_even_vs_odd", "stop_vs_tth", "fcnc_vs_thq", "ttw_vs_ttt"} <= set(
        list_tasks()
    )
    for name in list_tasks():
        task = get_task(name)
        assert isinstance(task, Task) and task.signal and task.background
        lhe = [get_process(p).lhe_only for p in task.processes]
        assert task.builtin == (not any(lhe)), name
    assert get_task("wh_vs_zh").signal == ("wh",) and get_task("wh_vs_zh").background == ("zh",)
    # the paper's LHE tasks each have a built-in stand-in task named in their description
    assert "fcnc_vs_tth" in get_task("fcnc_vs_thq").description
    assert "ttbar_vs_tth" in get_task("ttw_vs_ttt").description


def test_every_process_has_settings_or_needs_lhe():
    for name in list_processes():
        proc = get_process(name)
        assert proc.description
        assert proc.lhe_only or proc.settings, name
        if proc.slha is not None:
            assert proc.slha.is_file(), proc.slha


def test_unknown_names_give_clear_errors():
    with pytest.raises(CatalogError, match="unknown process 'nope'.*known: .*wh"):
        get_process("nope")
    with pytest.raises(CatalogError, match="unknown catalog"):
        get_catalog("nope")
    with pytest.raises(CatalogError, match="unknown task 'nope'"):
        get_task("nope")


def test_malformed_recipe_names_file_and_field(tmp_path, monkeypatch):
    (tmp_path / "processes").mkdir()
    (tmp_path / "processes" / "bad.yaml").write_text("name: bad\ndescription: x\n")
    monkeypatch.setenv("EVENTGNN_RECIPES", str(tmp_path))
    with pytest.raises(CatalogError, match=r"bad\.yaml: field 'settings' is missing"):
        get_process("bad")
