"""Mesa without its unused subpackages (sim/lazy_mesa.py): fast to import, and the deferred
subpackages still work however they are first reached."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import sys
import sim.model
assert "scipy" not in sys.modules and "networkx" not in sys.modules, "deferred subpackages were imported"
order = sys.argv[1]
if order == "submodule first":
    import mesa.discrete_space.grid as g
    from mesa.discrete_space import OrthogonalMooreGrid
    assert g.OrthogonalMooreGrid is OrthogonalMooreGrid and sys.modules["mesa.discrete_space.grid"] is g
elif order == "from the package":
    from mesa.discrete_space import OrthogonalMooreGrid
    import mesa.discrete_space.grid as g
    assert g.OrthogonalMooreGrid is OrthogonalMooreGrid
elif order == "star import":
    from mesa.discrete_space import *  # noqa: F403
    assert "OrthogonalMooreGrid" in dir()
elif order == "attribute":
    import mesa
    C = mesa.discrete_space.CellAgent
    from mesa.discrete_space.cell_agent import CellAgent
    assert C is CellAgent
else:
    from mesa.space import MultiGrid
    import mesa
    assert mesa.space.MultiGrid is MultiGrid
import mesa
from mesa.discrete_space import CellAgent, OrthogonalMooreGrid
m = mesa.Model(rng=1)
grid = OrthogonalMooreGrid((5, 5), torus=True, random=m.random)
a = CellAgent(m)
a.cell = grid[(1, 1)]
assert len(list(grid.all_cells)) == 25 and a.cell.coordinate == (1, 1)
"""


@pytest.mark.parametrize("order", ["submodule first", "from the package", "star import", "attribute", "mesa.space"])
def test_deferred_subpackages_load_on_first_use(order):
    r = subprocess.run([sys.executable, "-c", CHECK, order], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]


def test_eager_imports_can_be_asked_for():
    code = "import sys, sim.model; print('scipy' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"ASYLUMSIM_EAGER_IMPORTS": "1", "PATH": ""})
    assert r.stdout.strip() == "True"


def test_mesa_loggers_named_as_usual_and_inspect_restored():
    code = """
import inspect, logging, sys
stack, getmodule, getouterframes = inspect.stack, inspect.getmodule, inspect.getouterframes
import sim.model
assert (inspect.stack, inspect.getmodule, inspect.getouterframes) == (stack, getmodule, getouterframes)
print(sorted(k for k in logging.Logger.manager.loggerDict if k.startswith("MESA")))
"""
    names = []
    for env in ({}, {"ASYLUMSIM_EAGER_IMPORTS": "1"}):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PATH": "", **env})
        names.append(r.stdout.strip())
    assert names[0] == names[1] and "MESA.mesa.model" in names[0]
