"""Scenario names that differ only in case get separate result folders.

On a case-insensitive file system (macOS, Windows) ``Caplan`` and ``caplan`` are one
folder: two scenarios given those folders would overwrite each other's replication files
and mix their results. Slugs equal ignoring case are therefore de-duplicated (``-2``), names
that do not collide keep their folders (old results folders keep resuming), and an old
folder whose two scenarios share a folder but for case is refused by ``--resume``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers_explore import SMOOTH
from helpers_runner import FAKE, invoke
from helpers_runner import ok as _ok
from helpers_runner import one_line_error as _one_line_error

from sim.runner import storage


def _manifest(folder: Path) -> dict:
    return json.loads((folder / storage.MANIFEST).read_text())


def _distinct_ignoring_case(slugs: list[str]) -> bool:
    return len({s.casefold() for s in slugs}) == len(slugs)


def _legacy_unique_slugs(names: list[str]) -> list[str]:
    """The de-duplication before this fix (exact, case-sensitive): how old folders were named."""
    out: list[str] = []
    taken: set[str] = set()
    for n in names:
        base = storage.slugify(n)
        slug, k = base, 2
        while slug in taken:
            suffix = f"-{k}"
            slug = base[:storage.SLUG_MAX - len(suffix)] + suffix
            k += 1
        out.append(slug)
        taken.add(slug)
    return out


# --------------------------------------------------------------------------------------
# storage.unique_slugs


@pytest.mark.parametrize("names, expected", [
    (["Caplan", "caplan"], ["Caplan", "caplan-2"]),
    (["my run", "My_Run"], ["my_run", "My_Run-2"]),
    (["baseline", "caplan", "CAPLAN", "Caplan"], ["baseline", "caplan", "CAPLAN-2", "Caplan-3"]),
    (["caplan", "caplan?", "Caplan"], ["caplan", "caplan-2", "Caplan-3"]),  # "Caplan-2" is taken too
    (["x" * 70 + "_a", "X" * 70 + "_b"], ["x" * 64, "X" * 62 + "-2"]),
])
def test_names_differing_only_in_case_get_folders_distinct_ignoring_case(names, expected):
    slugs = storage.unique_slugs(names)
    assert slugs == expected
    assert _distinct_ignoring_case(slugs)


def test_names_that_do_not_collide_keep_their_folders_case_included():
    # existing results folders must keep resuming: no lowercasing, no new suffixes
    names = ["Baseline", "caplan", "My Run", "x" * 62, "x" * 62]
    assert storage.unique_slugs(names) == ["Baseline", "caplan", "My_Run", "x" * 62, "x" * 62 + "-2"]
    assert storage.unique_slugs(names) == _legacy_unique_slugs(names)


def _two_case_only_scenarios(tmp_path: Path) -> list[Path]:
    files = []
    for stem, name in (("upper", "Caplan"), ("lower", "caplan")):
        f = tmp_path / f"{stem}.yaml"
        f.write_text(f"name: {name}\ndescription: x\nextends: caplan\n")
        files.append(f)
    return files


def _compare(tmp_path: Path, out: Path, *extra: str):
    return invoke(["compare", "baseline", *_two_case_only_scenarios(tmp_path), "--days", "5", "-n", "2",
                   "--model", FAKE, "--executor", "inline", "--no-plots", "--out", out, *extra])


def test_compare_of_names_differing_only_in_case_keeps_their_replications_apart(tmp_path):
    out = tmp_path / "c"
    _ok(_compare(tmp_path, out))
    scenarios = _manifest(out)["scenarios"]
    assert [e["name"] for e in scenarios] == ["baseline", "Caplan", "caplan"]
    slugs = [e["slug"] for e in scenarios]
    assert slugs == ["baseline", "Caplan", "caplan-2"]
    assert _distinct_ignoring_case(slugs)
    for e in scenarios:
        files = sorted((out / storage.REPLICATIONS_DIR / e["slug"]).iterdir())
        assert [p.name for p in files] == ["rep-000000.parquet", "rep-000001.parquet"]
        for r, p in enumerate(files):  # each file is its own scenario's
            meta = storage.read_file_meta(p)
            assert meta is not None and (meta["scenario"], meta["replication"]) == (e["name"], r)
    for e in _manifest(out)["runs"]:
        assert e["status"] == "ok"
        assert e["file"] == storage.replication_file(slugs[["baseline", "Caplan", "caplan"].index(e["scenario"])],
                                                     e["replication"])
    ts = pd.read_parquet(out / storage.TIMESERIES)
    assert ts.groupby("scenario")["replication"].nunique().to_dict() == {"baseline": 2, "Caplan": 2, "caplan": 2}
    # it resumes into the same folders (nothing to redo)
    _ok(_compare(tmp_path, out, "--resume"))
    assert [e["slug"] for e in _manifest(out)["scenarios"]] == slugs


def test_an_old_folder_whose_scenarios_differ_only_in_case_is_refused_by_resume(tmp_path, monkeypatch):
    out = tmp_path / "old"
    with monkeypatch.context() as m:  # written the way asylumsim did before this fix
        m.setattr(storage, "unique_slugs", _legacy_unique_slugs)
        _ok(_compare(tmp_path, out))
    assert [e["slug"] for e in _manifest(out)["scenarios"]] == ["baseline", "Caplan", "caplan"]
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # without the scenarios (the stored configuration), and re-typed
    _one_line_error(invoke(["compare", "--resume", "--out", out, "--model", FAKE, "--executor", "inline", "--no-plots"]),
                    str(out), "'Caplan'", "'caplan'", "case-insensitive", "new --out")
    _one_line_error(_compare(tmp_path, out, "--resume"), str(out), "case-insensitive", "new --out")
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # nothing rerun, nothing rewritten
    # plot reads the table and the manifest, never recomputes the folders: an intact old folder
    # (this file system keeps the two apart) still draws
    _ok(invoke(["plot", out, "--metric", "front_effective"]))


def _explore(tmp_path: Path, scenarios: str, pair: str) -> Path:
    """A tiny Morris experiment of ``scenarios`` with one paired outcome (stand-in model); its folder."""
    design = tmp_path / "design.yaml"
    design.write_text(f"name: tiny\nscenarios: [{scenarios}]\ndays: 5\nparameters:\n  - {{path: front.kia_rate}}\n"
                      "method: {name: morris, trajectories: 2, levels: 4}\n"
                      f"outcomes:\n  - {{name: eff, metric: front_effective, day: 5, {pair}}}\n")
    out = tmp_path / "e"
    _ok(invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--no-plots", "--out", out]))
    return out


def test_explore_of_names_differing_only_in_case_keeps_their_runs_apart(tmp_path):
    (tmp_path / "Caplan.yaml").write_text("name: Caplan\ndescription: x\nextends: caplan\n")
    out = _explore(tmp_path, "caplan, Caplan.yaml", "scenario: Caplan, minus: caplan")
    slugs = [e["slug"] for e in _manifest(out)["scenarios"]]
    assert slugs == ["caplan", "Caplan-2"]
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert sorted(slugs) == runs and _distinct_ignoring_case(runs)
    for slug, name in zip(slugs, ["caplan", "Caplan"], strict=True):
        files = list((out / "runs" / slug).iterdir())
        assert len(files) == 4 and all(storage.read_file_meta(p)["scenario"] == name for p in files)


def test_explore_knows_a_scenario_file_by_its_stem_whatever_its_name_says(tmp_path):
    # two files whose name: differs from their stem, one of them the same name: the runs were keyed by
    # the name (a KeyError traceback, and two scenarios sharing one run folder) and the outcomes by the stem
    for stem in ("mine", "yours"):
        (tmp_path / f"{stem}.yaml").write_text("name: MyCaplan\ndescription: x\nextends: caplan\n")
    out = _explore(tmp_path, "mine.yaml, yours.yaml", "scenario: mine, minus: yours")
    assert [(e["name"], e["slug"]) for e in _manifest(out)["scenarios"]] == [("mine", "mine"), ("yours", "yours")]
    for name in ("mine", "yours"):
        files = list((out / "runs" / name).iterdir())
        assert len(files) == 4 and all(storage.read_file_meta(p)["scenario"] == name for p in files)


def test_a_suffix_never_takes_another_names_own_folder():
    # caplan-2 held the scenario 'caplan' and the scenario 'caplan-2' became caplan-2-2
    assert storage.unique_slugs(["Caplan", "caplan", "caplan-2", "CAPLAN"]) == ["Caplan", "caplan-3", "caplan-2", "CAPLAN-4"]
