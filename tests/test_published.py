"""Published numbers: the README's figure and the guide's numbers are what the code produces.

``python -m sim.published`` runs the README's comparison and rewrites the generated blocks of
README.md and docs/guide.md. The slow test here reruns that comparison (the same command,
without the figure) with the locked dependencies and compares every block with the docs;
the fast tests check the machinery on a synthetic run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim import published
from sim.errors import ResultsError
from sim.provenance import lock_status

ROOT = Path(__file__).resolve().parents[1]
FIX = f"run `{published.REGENERATE}` and commit the result"


def _docs() -> dict[str, str]:
    return {doc: (ROOT / doc).read_text(encoding="utf-8") for doc in published.DOC_BLOCKS}


def test_the_published_command_is_the_readmes_and_the_guides():
    readme, guide = _docs()[published.README], _docs()[published.GUIDE]
    assert f".venv/bin/{published.DOCUMENTED}\n" in readme, "the README's first command is not sim.published.COMMAND"
    assert f"$ {published.DOCUMENTED} --out {published.OUT_NAME}\n" in guide


def test_every_block_is_present_once_with_one_provenance_line_from_one_run():
    lines = set()
    for doc, text in _docs().items():
        blocks = published.read_blocks(text, doc)
        for name in published.DOC_BLOCKS[doc]:
            assert name in blocks, f"{doc} lacks the generated block {name!r}: {FIX}"
            prov = [line for line in blocks[name].splitlines() if line.startswith(published.PROVENANCE_PREFIX)]
            assert len(prov) == 1, f"{doc}:{name} must end with one provenance line: {FIX}"
            lines.add(prov[0])
    (line,) = lines  # README's figure and the guide's numbers come from the same run
    assert f"`{published.DOCUMENTED}`" in line and "root seed" in line and "commit " in line
    assert "locked dependencies (requirements/" in line, f"the published run did not use the lock: {line}"
    assert (ROOT / published.FIGURE).is_file()


@pytest.mark.slow
def test_documented_numbers_are_what_the_code_produces_with_the_locked_dependencies(tmp_path):
    lock = lock_status()
    assert lock is not None and lock["matches"], (
        f"this environment differs from the lock ({lock and lock['differs']}); the published numbers are "
        "checked with the locked dependencies (README's test command)")
    pub = published.run(tmp_path, figure=False)
    stale = published.stale_blocks(pub, ROOT)
    fresh = published.bodies(pub)
    detail = "\n".join(f"--- {name}: the code now gives:\n{fresh[name.split(':')[1]]}" for name in stale)
    assert not stale, f"documented numbers differ from the code's in {stale}: {FIX}\n{detail}"


# --------------------------------------------------------------------------------------
# the machinery, on a synthetic run


def _fake_run(tmp_path: Path, caplan_365: float = -39500.0) -> published.Published:
    rows = []
    for scen in ("baseline", "caplan"):
        for day, level in ((30, 245000.0), (90, 420000.0), (365, 423000.0)):
            diff = 0.0 if scen == "baseline" else (caplan_365 if day == 365 else -60000.0 if day == 90 else -15000.0)
            rows.append({"scenario": scen, "metric": "front_effective", "day": str(day), "median": str(level + diff),
                         "p05": "0", "p95": "0", "diff_median": str(diff), "diff_p05": str(diff - 2000),
                         "diff_p95": str(diff + 3000), "n": "10"})
        for day in (30, 90, 365):
            for metric, value in (("defected_cum", 256000.0 * day / 365), ("fled_cum", 254000.0 * day / 365)):
                v = 0.0 if scen == "baseline" else value
                rows.append({"scenario": scen, "metric": metric, "day": str(day), "median": "0", "p05": "0", "p95": "0",
                             "diff_median": str(v), "diff_p05": str(v), "diff_p95": str(v), "n": "10"})
            if scen != "baseline":
                rows.append({"scenario": scen, "metric": "cost_per_soldier_removed_usd", "day": str(day),
                             "median": "250000", "p05": "200000", "p95": "inf", "diff_median": "", "diff_p05": "",
                             "diff_p95": "", "n": "10"})
    manifest = {"baseline": "baseline", "root_seed": 20220921, "replications": 10,
                "provenance": {"version": "0.2.0", "commit": "abcdef1234567", "dirty": False, "python": "3.12.1",
                               "lock": {"file": "requirements/test.lock", "matches": True, "differs": []}}}
    return published.Published("table line 1\ntable line 2\n", rows, manifest, tmp_path)


def _write_docs(root: Path) -> None:
    (root / "docs").mkdir(parents=True)
    (root / published.README).write_text(
        "# x\n<!-- BEGIN generated:figure (do not edit) -->\nold\n<!-- END generated:figure -->\ntail\n"
        "<!-- BEGIN generated:compare-output -->\n<!-- END generated:compare-output -->\n"
        "<!-- BEGIN generated:answer -->\n<!-- END generated:answer -->\n", encoding="utf-8")
    (root / published.GUIDE).write_text("".join(
        f"text\n<!-- BEGIN generated:{n} -->\n<!-- END generated:{n} -->\n" for n in ("compare-output", "reading", "legend")),
        encoding="utf-8")


def test_bodies_quote_the_comparison_table(tmp_path):
    b = published.bodies(_fake_run(tmp_path))
    assert b["compare-output"] == "```text\ntable line 1\ntable line 2\n```\n"
    assert "moves 256,000 more soldiers to defect" in b["reading"] and "leaves 39,500 fewer" in b["reading"]
    assert "`caplan: -39.5k [-41.5k, -36.5k] on day 365`" in b["legend"]
    assert "widest on day 90 (-60,000)" in b["legend"] and "245k on day 30" in b["legend"]
    more = published.bodies(_fake_run(tmp_path, caplan_365=1200.0))
    assert "leaves 1,200 more trained-soldier" in more["reading"]


def test_answer_table_gives_each_offer_at_days_90_and_365_with_intervals_and_cost(tmp_path):
    table = published.answer_table(_fake_run(tmp_path))
    rows = [r for r in table.splitlines() if r.startswith("| caplan")]
    assert [r.split(" | ")[1] for r in rows] == ["90", "365"], "days 90/180/365 that the run has, in order"
    assert "| caplan | 365 | -39.5k [-41.5k, -36.5k] | +256k [+256k, +256k] | 250k [200k, n/a (no reduction)] |" in table


def test_write_then_check_then_a_changed_number_is_named(tmp_path):
    _write_docs(tmp_path)
    pub = _fake_run(tmp_path)
    assert set(published.stale_blocks(pub, tmp_path)) == {"README.md:figure", "README.md:compare-output", "README.md:answer",
                                                         "docs/guide.md:compare-output",
                                                         "docs/guide.md:reading", "docs/guide.md:legend"}
    assert published.write_docs(pub, tmp_path) == [published.README, published.GUIDE]
    assert published.stale_blocks(pub, tmp_path) == []
    readme = (tmp_path / published.README).read_text(encoding="utf-8")
    assert "<!-- END generated:figure -->\ntail\n" in readme and "old\n" not in readme
    assert "commit abcdef123456, Python 3.12.1, locked dependencies (requirements/test.lock)" in readme
    assert published.write_docs(pub, tmp_path) == [], "a second write changes nothing"
    moved = _fake_run(tmp_path, caplan_365=-38000.0)
    assert published.stale_blocks(moved, tmp_path) == ["README.md:answer", "docs/guide.md:reading", "docs/guide.md:legend"]


def test_a_missing_or_repeated_block_is_an_error_naming_the_document(tmp_path):
    _write_docs(tmp_path)
    guide = tmp_path / published.GUIDE
    guide.write_text(re.sub(r"<!-- (BEGIN|END) generated:legend -->\n", "", guide.read_text(encoding="utf-8")),
                     encoding="utf-8")
    with pytest.raises(ResultsError, match=r"docs/guide.md: no generated block 'legend'"):
        published.write_docs(_fake_run(tmp_path), tmp_path)
    with pytest.raises(ResultsError, match="README.md: generated block 'figure' appears twice"):
        published.read_blocks("<!-- BEGIN generated:figure -->\n<!-- END generated:figure -->\n" * 2, "README.md")
