"""The dashboard's logic without a browser: the lever table, the saved scenario, the
Results mode's headline cells, and ``dashboard_cmd``'s refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from pydantic import BaseModel
from typer.testing import CliRunner

from sim.config import Scenario, load_scenario
from sim.dashboard import levers
from sim.dashboard.cli import dashboard_cmd
from sim.errors import ConfigError


def _schema_field(path: str) -> object:
    """Walk the schema's fields along a lever path; named list items step into the item model."""
    import typing

    model: type[BaseModel] = Scenario
    annotation: object = None
    for part in path.split("."):
        if part in ("{offer}", "{host}"):
            continue
        assert part in model.model_fields, f"{path}: {part!r} is not a field of {model.__name__}"
        annotation = model.model_fields[part].annotation
        inner = [a for a in (typing.get_args(annotation) or (annotation,)) if isinstance(a, type)]
        if typing.get_origin(annotation) is list:
            inner = [typing.get_args(annotation)[0]]
        nested = [a for a in inner if issubclass(a, BaseModel)]
        if nested:
            model = nested[0]
    return annotation


@pytest.mark.parametrize("lever", levers.LEVERS, ids=lambda lv: lv.key)
def test_every_lever_path_is_a_schema_field(lever):
    _schema_field(lever.path)


@pytest.mark.parametrize(("key", "value", "read"), [
    ("payment", 250_000.0, lambda s: s.offers[-1].payment_usd),
    ("credibility", 0.4, lambda s: s.offers[-1].credibility.base),
    ("publicity", 0.1, lambda s: s.offers[-1].publicity),
    ("deadline", 90, lambda s: s.offers[-1].deadline_day),
    ("detection", 0.6, lambda s: s.kremlin.counter_defection.detection_base),
    ("exit_voice", "complement", lambda s: s.protest.exit_voice.link),
])
def test_each_lever_moves_its_value_through_the_loader(key, value, read):
    base = load_scenario("caplan")
    assert read(base) != value
    moved = levers.load_whatif("caplan", {key: value})
    assert read(moved) == value
    assert levers.current_values(moved)[key] == value


def test_host_levers_open_and_close_hosts_by_policy():
    base = load_scenario("caplan")
    now = levers.current_values(base)
    assert "eu_west" not in now["draftee_hosts"] and "finland" in now["draftee_hosts"]
    want = sorted((set(now["draftee_hosts"]) - {"finland"}) | {"eu_west"})
    sets = levers.overrides(base, {"draftee_hosts": want})
    assert sets == ['hosts.finland.draftee_policy="closed"', 'hosts.eu_west.draftee_policy="open"']
    moved = levers.load_whatif("caplan", {"draftee_hosts": want, "deserter_hosts": []})
    hosts = {h.name: h for h in moved.hosts}
    assert hosts["finland"].draftee_policy == "closed" and hosts["eu_west"].draftee_policy == "open"
    assert all(h.deserter_policy == "closed" for h in moved.hosts)


def test_unchanged_values_give_no_overrides_and_bad_levers_are_one_line_errors():
    base = load_scenario("caplan")
    assert levers.overrides(base, levers.current_values(base)) == []
    with pytest.raises(ConfigError, match="unknown lever"):
        levers.overrides(base, {"paymnt": 1})
    with pytest.raises(ConfigError, match="makes no offer"):
        levers.overrides(load_scenario("no_offers"), {"payment": 1.0})
    with pytest.raises(ConfigError, match="no host named 'atlantis'"):
        levers.overrides(base, {"draftee_hosts": ["atlantis"]})
    with pytest.raises(ConfigError, match=r"credibility\.base"):
        levers.load_whatif("caplan", {"credibility": 1.5})


def test_save_writes_only_the_changes_extends_the_choice_and_reproduces_the_view(tmp_path):
    values = {"payment": 500_000.0, "detection": 0.5, "draftee_hosts": ["georgia"]}
    path = levers.save_scenario(tmp_path, "caplan", "my_offer", values)
    assert path == tmp_path / "my_offer.yaml"
    text = path.read_text(encoding="utf-8")
    assert 'extends: "caplan"' in text and "payment_usd: 500000.0" in text and "detection_base: 0.5" in text
    assert "credibility" not in text and "publicity" not in text  # unchanged keys are left out
    saved = load_scenario(path)
    want = levers.load_whatif("caplan", values)
    assert saved.name == "my_offer"
    assert saved.model_dump(exclude={"name", "description"}) == want.model_dump(exclude={"name", "description"})
    assert [f.name for f in tmp_path.iterdir()] == ["my_offer.yaml"]  # no temporary left behind


def test_save_refuses_to_overwrite_bad_names_and_scenario_names(tmp_path):
    (tmp_path / "taken.yaml").write_text("keep me\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="exists; choose another name") as exc:
        levers.save_scenario(tmp_path, "caplan", "taken", {"payment": 1.0})
    assert "\n" not in str(exc.value)
    assert (tmp_path / "taken.yaml").read_text(encoding="utf-8") == "keep me\n"
    for bad in ("../escape", "a/b", "", ".hidden"):
        with pytest.raises(ConfigError, match="not a valid name"):
            levers.save_scenario(tmp_path, "caplan", bad, {})
    with pytest.raises(ConfigError, match="already a scenario"):
        levers.save_scenario(tmp_path, "caplan", "kuran", {})
    assert sorted(f.name for f in tmp_path.iterdir()) == ["taken.yaml"]


def test_whatif_spec_pairs_baseline_and_the_moved_scenario():
    spec = levers.whatif_spec("caplan", {"payment": 1e6}, scale=400, days=30, replications=3)
    assert spec.kind == "compare" and spec.baseline == "baseline"
    assert spec.names == ["baseline", "caplan_whatif"] and spec.replications == 3 and spec.days == 30
    assert spec.scenarios[1].offers[-1].payment_usd == 1e6
    assert {s.population.scale for s in spec.scenarios} == {400}
    same = levers.whatif_spec("baseline", {}, days=30)
    assert same.names == ["baseline", "baseline_whatif"]


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(dashboard_cmd)
    return app


def test_dashboard_cmd_refuses_a_folder_without_results_in_one_line(tmp_path):
    res = CliRunner().invoke(_cli(), [str(tmp_path / "missing")])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [f"error: {tmp_path / 'missing'} is not a folder"]
    (tmp_path / "empty").mkdir()
    res = CliRunner().invoke(_cli(), [str(tmp_path / "empty")])
    assert res.exit_code == 1 and "is not an asylumsim results folder and holds none" in res.output
    (tmp_path / "a_file").write_text("x")  # where what-if runs would go (the hostile review: accepted)
    res = CliRunner().invoke(_cli(), ["--results", str(tmp_path / "a_file")])
    assert res.exit_code == 1 and res.output.strip() == f"error: --results {tmp_path / 'a_file'} is not a folder"


def _files(root) -> dict:
    return {p: p.stat().st_mtime_ns for p in root.rglob("*")}


def test_page_figures_are_the_clis_drawn_in_memory_without_writing_a_file(tmp_path, monkeypatch):
    """Issue 18: the Results mode's figure is byte for byte the PNG ``asylumsim plot`` writes,
    and drawing it writes nothing: not into the results folder, the working directory or
    the temporary folder (here a read-only one)."""
    import tempfile

    from helpers_runner import FAKE, invoke

    from sim.dashboard import results
    from sim.plots import draw_results

    out = tmp_path / "cmp"
    r = invoke(["compare", "baseline", "caplan", "--days", "20", "-n", "2", "--model", FAKE,
                "--executor", "inline", "--no-plots", "--out", out])
    assert r.exit_code == 0, r.stderr
    manifest, ts = results.load(out)
    metric = results.metric_choices(ts)[0]
    cli = draw_results(tmp_path / "cli", manifest, ts, [metric], notes=[])
    expected = next(p for p in cli if p.suffix == ".png").read_bytes()

    quiet = tmp_path / "read-only"
    quiet.mkdir()
    quiet.chmod(0o555)
    monkeypatch.chdir(quiet)
    monkeypatch.setattr(tempfile, "tempdir", str(quiet))
    watched = {tmp_path: _files(tmp_path), Path(tempfile.gettempdir()): _files(quiet)}
    results._figure_png.cache_clear()
    try:
        png = results.figure_png(out, metric)
    finally:
        quiet.chmod(0o755)
    assert png == expected
    assert {root: _files(root) for root in watched} == watched
    assert not (out / "plots").exists()


@pytest.mark.parametrize(("key", "typed", "shown"), [("credibility", 1.5, 1.0), ("credibility", 0.35, 0.35),
                                                     ("credibility", -0.2, 0.0), ("payment", 123_456, 120_000.0),
                                                     ("publicity", 0.0125, 0.015), ("payment", 1e6, 1e6)])
def test_slider_position_is_clamped_and_on_the_step_as_vuetify_rounds(key, typed, shown):
    """The slider is given a value v-slider keeps, so it never sends back a clamped or
    rounded value over the one typed into the number field (the lever keeps ``typed``)."""
    assert levers.slider_position(levers.LEVER_BY_KEY[key], typed) == shown


@pytest.mark.parametrize("values, calibrated", [
    ({"payment": 1e6}, False),  # not a posterior parameter: the posterior still draws the calibrated ones
    ({"detection": 0.95}, True),  # kremlin.counter_defection.detection_base: a posterior column
    ({"publicity": 0.2}, True),  # offers.ukraine_amnesty.publicity in baseline (its last offer)
])
def test_a_lever_on_a_calibrated_parameter_keeps_its_value_instead_of_being_redrawn(values, calibrated):
    # the posterior draws would replace the lever's value in every replication: the lever changed nothing
    spec = levers.whatif_spec("baseline", values, scale=2000, days=5, replications=2)
    assert spec.parameter_uncertainty is not calibrated
    assert (spec.posterior is None) is calibrated
    job = spec.jobs()[-1]  # a what-if replication, as it runs
    assert levers.current_values(job.scenario)[next(iter(values))] == next(iter(values.values()))


def _status(port: int, host_header: str, origin: str | None = None) -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/", headers={"Host": host_header, **({"Origin": origin} if origin else {})})
        return conn.getresponse().status
    finally:
        conn.close()


def _handshake(port: int, origin: str) -> int:
    """The HTTP status of a WebSocket handshake to Solara's kernel channel with ``origin``."""
    import base64
    import os
    import socket

    key = base64.b64encode(os.urandom(16)).decode()
    path = "/jupyter/api/kernels/probe/channels?session_id=probe"
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request.encode())
        return int(s.recv(4096).split(b" ", 2)[1])


def test_a_local_dashboard_answers_only_requests_addressed_to_this_machine(tmp_path):
    """DNS rebinding: a page elsewhere that points its own name at 127.0.0.1 gets 400."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ASYLUMSIM_SCENARIOS"}
    proc = subprocess.Popen([sys.executable, "-m", "sim.dashboard", "--port", "0"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("dashboard: http://127.0.0.1:"), first
        port = int(first.split()[1].rstrip("/").rsplit(":", 1)[1])
        assert _status(port, f"127.0.0.1:{port}") == 200
        assert _status(port, f"localhost:{port}") == 200
        assert _status(port, f"rebind.example:{port}") == 400
        assert _status(port, "evil.example") == 400
        # a page of another site (or another local port) may not open the kernel's WebSocket
        own = f"http://127.0.0.1:{port}"
        assert _handshake(port, own) == 101
        assert _handshake(port, f"http://localhost:{port}") == 101
        for foreign in ("http://evil.example", f"http://evil.example:{port}", "http://127.0.0.1:8000", "null"):
            assert _handshake(port, foreign) == 403, foreign
        assert _status(port, f"127.0.0.1:{port}", origin="http://evil.example") == 403
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(("host", "bound", "local"), [
    ("127.0.0.1", "127.0.0.1", True), ("LOCALHOST", "127.0.0.1", True), ("127.0.0.2", "127.0.0.2", True),
    ("127.1", "127.0.0.1", True), ("::1", "::1", True), ("0:0:0:0:0:0:0:1", "::1", True),
    ("0.0.0.0", "0.0.0.0", False), ("::", "::", False), ("192.168.1.5", "192.168.1.5", False),
    ("::ffff:127.0.0.1", "::ffff:127.0.0.1", True), ("::ffff:10.0.0.1", "::ffff:10.0.0.1", False),
])
def test_the_guard_follows_the_bound_address_not_the_spelling_of_host(host, bound, local):
    import ipaddress

    from sim.dashboard.guard import SameOrigin, is_loopback, local_names, origin_names

    assert is_loopback(host, bound) is local
    if local:
        names = local_names(host, bound)
        assert {"127.0.0.1", "localhost", host.lower(), bound} <= set(names)
        guard = SameOrigin(None, origin_names(host, bound), 8765)
        own = f"http://{f'[{ipaddress.ip_address(bound).compressed}]' if ':' in bound else bound}:8765"
        assert guard.allowed(own)
        assert not guard.allowed(f"http://{bound}:8766") and not guard.allowed("http://evil.example:8765")
        # another loopback socket with the same port is another origin (another program may serve it)
        for other in ("http://127.0.0.1:8765", "http://[::1]:8765", "http://127.0.0.2:8765"):
            assert guard.allowed(other) is (other == own), other
        # localhost reaches 127.0.0.1 or ::1 only
        assert guard.allowed("http://localhost:8765") is (bound in ("127.0.0.1", "::1"))


def test_a_host_name_with_a_trailing_dot_is_its_own_origin_as_the_browser_sends_it():
    from sim.dashboard.guard import SameOrigin, origin_names

    guard = SameOrigin(None, origin_names("localhost.", "127.0.0.1"), 8765)
    assert guard.allowed("http://localhost.:8765") and guard.allowed("http://localhost:8765")
    assert not guard.allowed("http://[::1]:8765")
