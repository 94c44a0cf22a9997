"""The submodels of docs/ODD.md section 7, one file each, and the day's order.

Each submodel is a class built as ``X(world, routes, actors, sc)`` whose constructor
names what it reads and writes, with a ``step(day)``. :data:`PHASES` is the order of
ODD section 3 after the institutions and the morning's route plan; defection
(:mod:`sim.submodels.defection`) runs inside the front's day, between casualties and AWOL.
"""

from sim.submodels.borders import Borders
from sim.submodels.flight import Flight
from sim.submodels.front import Front
from sim.submodels.mobilization import Mobilization
from sim.submodels.pipeline import Pipeline
from sim.submodels.protest import Protest
from sim.submodels.routes import Routes
from sim.submodels.security import Security

PHASES = (Mobilization, Flight, Borders, Pipeline, Front, Protest, Security)

__all__ = ["PHASES", "Borders", "Flight", "Front", "Mobilization", "Pipeline", "Protest", "Routes", "Security"]
