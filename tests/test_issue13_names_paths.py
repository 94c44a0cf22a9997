"""Issue 13 items 8, 11 (names) and 16 (names and paths), and issue 12 item 6 (plots).

Each test is one case from the issues: hostile scenario names reach the terminal and the
figures as written (never as rich markup, mathtext or control characters); paths the OS
refuses, FIFOs, devices and hand-edited results folders end in one ``error:`` line with
exit 1; usage errors too. Colours stay with their scenario across figures.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_runner import FAKE, invoke, rewrite_table

from sim import plots
from sim.config.yaml_safe import MAX_BYTES, read_limited, read_yaml_file
from sim.errors import ConfigError
from sim.plots import data as plot_data
from sim.runner import storage

ASYLUMSIM = str(Path(sys.executable).with_name("asylumsim"))
LONG = "a" * 300  # longer than NAME_MAX (255) on every common file system


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k != "ASYLUMSIM_SCENARIOS"} | {"COLUMNS": "200"} | (env or {})
    return subprocess.run([ASYLUMSIM, *args], cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout)


def assert_one_error_line(r, *fragments: str) -> str:
    """Exit 1, no traceback, exactly one stderr line starting 'error:' holding ``fragments``."""
    stderr = r.stderr if hasattr(r, "stderr") else r.output
    detail = f"exit {getattr(r, 'returncode', getattr(r, 'exit_code', None))}\n{stderr}"
    assert getattr(r, "returncode", getattr(r, "exit_code", None)) == 1, detail
    assert "Traceback" not in stderr, detail
    lines = [x for x in stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), detail
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def child(tmp: Path, name: str, extra: str = "") -> Path:
    p = tmp / "s.yaml"
    p.write_text(f"name: {json.dumps(name, ensure_ascii=False)}\ndescription: x\nextends: caplan\n{extra}", encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def weird_compare(tmp_path_factory) -> tuple[Path, str, object]:
    """A small compare (stand-in model) of baseline and a scenario with a hostile name."""
    tmp = tmp_path_factory.mktemp("weird")
    name = "caplan [v2] [/bold] $\\frac{1 \U0001f642"  # DejaVu Sans has no U+1F642
    f = child(tmp, name)
    out = tmp / "out"
    r = invoke(["compare", "baseline", f, "--days", "20", "-n", "2", "--model", FAKE, "--executor", "inline", "--out", out])
    return out, name, r


# --------------------------------------------------------------------------------------
# issue 13 item 16: names


def test_bold_markup_name_does_not_crash_the_headline_and_brackets_print(weird_compare):
    out, name, r = weird_compare
    assert r.exit_code == 0, r.output
    assert "caplan [v2] [/bold]" in r.stdout  # printed as written, not eaten as markup


def test_dollar_name_draws_every_figure_and_headline_names_the_figure(weird_compare):
    out, name, r = weird_compare
    assert (out / "compare.png").is_file()
    svg = (out / "compare.svg").read_text(encoding="utf-8")
    assert "$\\frac{1" in svg  # drawn as text, not parsed as mathtext
    assert "--no-plots" not in r.stdout
    assert "figure:" in r.stdout


def test_emoji_name_gives_at_most_one_glyph_note(weird_compare, tmp_path):
    out, name, _ = weird_compare
    r = run_cli("plot", str(out), cwd=tmp_path)  # a fresh process: no font cache warmed up
    assert r.returncode == 0, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert not [x for x in lines if "Glyph" in x or "warn" in x.lower()], r.stderr
    assert lines.count(f"note: {plots.GLYPH_NOTE}") == 1, r.stderr


def test_control_characters_in_description_do_not_reach_the_terminal_through_list(tmp_path):
    d = tmp_path / "sc"
    d.mkdir()
    (d / "ctl.yaml").write_text('name: ctl\ndescription: "bell\\a esc\\e[31m c1\\x9b del\\x7f"\n', encoding="utf-8")
    r = run_cli("list", cwd=tmp_path, env={"ASYLUMSIM_SCENARIOS": str(d)})
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("ctl"))
    assert line.isprintable(), repr(line)
    assert "\\x07" in line and "\\x1b" in line


def test_set_whole_host_mapping_error_blames_set(tmp_path):
    r = run_cli("validate", "caplan", "--set", "hosts.finland={name: suomi}", cwd=tmp_path)
    assert_one_error_line(r, "error: --set: ", "unknown host 'finland'")


def test_empty_name_is_refused(tmp_path):
    r = run_cli("validate", str(child(tmp_path, "")), cwd=tmp_path)
    assert_one_error_line(r, "name: must not be empty")


# --------------------------------------------------------------------------------------
# issue 13 item 16: paths


def test_long_path_in_validate_is_one_line(tmp_path):
    assert_one_error_line(run_cli("validate", LONG + ".yaml", cwd=tmp_path), "File name too long")


def test_long_path_in_extends_is_one_line(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(f"name: c\ndescription: x\nextends: {LONG}.yaml\n", encoding="utf-8")
    assert_one_error_line(run_cli("validate", str(p), cwd=tmp_path), "extends", "File name too long")


def test_long_path_in_out_is_one_line(tmp_path):
    r = run_cli("run", "baseline", "--days", "2", "-n", "1", "--executor", "inline", "--out", str(tmp_path / LONG), cwd=tmp_path)
    assert_one_error_line(r, "File name too long")


def test_long_path_in_resume_is_one_line(tmp_path):
    r = run_cli("run", "--resume", "--out", str(tmp_path / LONG), cwd=tmp_path)
    assert_one_error_line(r)


def test_long_path_in_plot_is_one_line(tmp_path):
    assert_one_error_line(invoke(["plot", tmp_path / LONG]))


def _no_hang(seconds: int = 10):
    def boom(*_):
        raise TimeoutError("the read blocked")
    signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)


def test_fifo_named_yaml_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    _no_hang()
    try:
        with pytest.raises(ConfigError, match="not a regular file"):
            read_yaml_file(fifo)
    finally:
        signal.alarm(0)
    r = run_cli("list", cwd=tmp_path, env={"ASYLUMSIM_SCENARIOS": str(tmp_path)}, timeout=60)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("pipe "))
    assert line.endswith("(invalid: not a regular file)")


def test_dev_zero_symlink_is_refused(tmp_path):
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match="not a regular file"):
        read_yaml_file(link)


def test_size_limit_is_counted_while_reading(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_BYTES + 10))
    real_fstat = os.fstat

    class ZeroSize:  # what /proc files report
        def __init__(self, st):
            self.st_mode, self.st_size = st.st_mode, 0

    monkeypatch.setattr(os, "fstat", lambda fd: ZeroSize(real_fstat(fd)))
    with pytest.raises(ConfigError, match=f"larger than {MAX_BYTES}"):
        read_limited(big)
    assert read_limited(big, limit=MAX_BYTES + 10) == b"#" * (MAX_BYTES + 10)


def test_usage_errors_are_one_line_exit_1(tmp_path):
    assert_one_error_line(run_cli("run", "--bogus", cwd=tmp_path), "No such option: --bogus", "asylumsim run")
    assert_one_error_line(run_cli("run", "baseline", "--days", "x", cwd=tmp_path), "--days")
    assert_one_error_line(run_cli("show", cwd=tmp_path), "Missing argument")
    assert_one_error_line(run_cli("frobnicate", cwd=tmp_path), "No such command")


# --------------------------------------------------------------------------------------
# plot of hand-edited folders


def _copy(folder: Path, tmp: Path) -> Path:
    import shutil

    dst = tmp / "copy"
    shutil.copytree(folder, dst)
    return dst


def test_plot_of_folder_with_renamed_baseline_is_one_line(weird_compare, tmp_path):
    folder = _copy(weird_compare[0], tmp_path)
    ts = storage.read_parquet(folder / storage.TIMESERIES)
    ts["scenario"] = ts["scenario"].replace({"baseline": "base"})
    ts.to_parquet(folder / storage.TIMESERIES)
    assert_one_error_line(invoke(["plot", folder]), "baseline 'baseline'", "not in the table")


@pytest.mark.parametrize("drop", ["scenario", "day", "replication"])
def test_plot_of_folder_with_missing_columns_is_one_line(weird_compare, tmp_path, drop):
    folder = _copy(weird_compare[0], tmp_path)
    storage.read_parquet(folder / storage.TIMESERIES).drop(columns=[drop]).to_parquet(folder / storage.TIMESERIES)
    assert_one_error_line(invoke(["plot", folder]), repr(drop))


def test_plot_of_folder_with_empty_table_is_one_line(weird_compare, tmp_path):
    folder = _copy(weird_compare[0], tmp_path)
    storage.read_parquet(folder / storage.TIMESERIES).iloc[:0].to_parquet(folder / storage.TIMESERIES)
    assert_one_error_line(invoke(["plot", folder]), "no rows")


def test_plot_on_read_only_file_system_is_one_line(weird_compare, tmp_path, monkeypatch):
    folder = _copy(weird_compare[0], tmp_path)

    def read_only(*_a, **_k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(storage, "atomic_write_bytes", read_only)
    assert_one_error_line(invoke(["plot", folder]), "Read-only file system")


# --------------------------------------------------------------------------------------
# issue 13 item 8 and issue 12 item 6: readable plots


def test_plot_metric_all_nan_for_baseline_does_not_crash(weird_compare):
    # defected_cum__<offer> is NaN for the baseline, which has no offer
    out = weird_compare[0]
    ts = storage.read_parquet(out / storage.TIMESERIES)
    ts["defected_cum__caplan_v2"] = np.where(ts["scenario"] == "baseline", np.nan, ts["defected_cum"])
    rewrite_table(out, ts, reseal=True)  # as a run with that offer column writes it
    r = invoke(["plot", out, "--metric", "defected_cum__caplan_v2"])
    assert r.exit_code == 0, r.output
    assert "no data for: baseline" in r.stderr
    assert (out / "plots" / "defected_cum__caplan_v2.png").is_file()


def test_quantiles_of_an_empty_group_are_an_empty_table():
    empty = pd.DataFrame({"scenario": pd.Series(dtype=str), "day": pd.Series(dtype=int), "v": pd.Series(dtype=float)})
    q = plot_data._q(empty, ["scenario", "day"], "v")
    assert list(q.columns) == ["scenario", "day", "p05", "median", "p95"] and q.empty
    nan = pd.DataFrame({"scenario": ["a"] * 3, "day": [0, 1, 2], "v": [np.nan] * 3})
    assert plot_data._q(nan, ["scenario", "day"], "v").empty


def test_plot_metric_did_you_mean(weird_compare):
    r = invoke(["plot", weird_compare[0], "--metric", "front_strenght"])
    assert_one_error_line(r, "did you mean 'front_strength'")


def test_scenario_keeps_its_colour_across_figures():
    manifest = {"kind": "compare", "baseline": "b", "scenarios": [{"name": "b"}, {"name": "x"}, {"name": "y"}]}
    ts = pd.DataFrame({"scenario": ["y", "x", "b"], "replication": 0, "day": 0, "m": 1.0})
    cmap = plots.run_colors(manifest, ts)
    assert cmap == plots.run_colors(manifest, ts.iloc[::-1]) == plots.run_colors(manifest, ts[ts["scenario"] != "x"])
    assert cmap["b"] == plots.BASELINE_COLOR and len(set(cmap.values())) == 3


def test_every_figure_uses_the_run_colours(weird_compare, monkeypatch):
    out, name, _ = weird_compare
    manifest, ts = storage.read_manifest(out), storage.read_parquet(out / storage.TIMESERIES)
    expected = plots.run_colors(manifest, ts)
    seen: dict[str, set[str]] = {}
    real = plots._draw_bands

    def spy(ax, data, order, cmap, suffix=None, baseline=None):
        for s in order:
            seen.setdefault(s, set()).add(cmap[s])
        return real(ax, data, order, cmap, suffix, baseline)

    monkeypatch.setattr(plots, "_draw_bands", spy)
    # rows in another order than the manifest's: colours must not follow row order
    plots.draw_results(out, manifest, ts.iloc[::-1].reset_index(drop=True), notes=[])
    assert seen and all(cols == {expected[s]} for s, cols in seen.items())
