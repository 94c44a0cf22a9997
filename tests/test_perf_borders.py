"""The kept state behind the Borders and the route plan agrees with a recomputation.

Routes keeps the men travelling to their exit (``arriving``) and reuses its morning plan
while its inputs stand; Borders adds today's entries exit by exit with ``np.add.at``.
Each test compares the kept value with the straightforward computation, every day.
"""

from __future__ import annotations

import numpy as np

from sim.config import load_scenario
from sim.ledger import State
from sim.model import AsylumModel

# an exit that closes and reopens, and two exits into one host, at a scale with queues
OVERRIDES = ["population.scale=50", "run.check_ledger=true", "exits.finland.closed_from_day=30",
             "exits.finland.reopen_day=90", "exits.mongolia.host=kazakhstan"]


def model(days: int = 150) -> AsylumModel:
    return AsylumModel(load_scenario("baseline", [*OVERRIDES, f"run.days={days}"]), rng=np.random.default_rng(3))


def test_arrivals_are_the_men_in_transit_due_today_in_list_order():
    m = model()
    routes, pool = m.routes, m.world.pool
    kept = routes.arriving
    seen = []

    def checked(day: int) -> np.ndarray:
        transit = pool.in_state(State.TRANSIT)
        expected = transit[pool.due_day[transit] == day]
        got = kept(day)
        np.testing.assert_array_equal(got, expected)
        seen.append(got.size)
        return got

    routes.arriving = checked
    for _ in range(150):
        m.step()
    assert sum(seen) > 100  # the check ran on days with arrivals


def test_route_plan_reused_only_while_its_inputs_stand():
    m = model()
    routes = m.routes
    kept = routes.plan
    names = ("crossable", "open", "prices", "probs", "_reach", "_cost_r", "_afford_cost")

    def checked(day: int) -> None:
        kept(day)
        got = [getattr(routes, n).copy() for n in names]
        routes._key = routes._gates = None  # forget the kept plan: recompute all of it
        kept(day)
        for n, g in zip(names, got, strict=True):
            np.testing.assert_array_equal(g, getattr(routes, n), err_msg=f"{n} on day {day}")

    routes.plan = checked
    for _ in range(150):
        m.step()
    assert not routes.crossable.all() or m.day >= 90


def test_entries_of_a_host_with_two_exits_add_up_exit_by_exit():
    m = model(days=40)
    borders = next(p for p in m.phases if type(p).__name__ == "Borders")
    kept = borders._count_entries
    acc = m.world.accounts

    def checked() -> None:
        np.multiply(borders._background, borders.routes.crossable, out=borders._entries[:, 0])  # as kept() does
        expected = acc.entries_real.copy()
        for h, value in zip(borders._entry_hosts.tolist(), borders._entries.ravel().tolist(), strict=True):
            expected[h] += value  # the rule as it reads: exit by exit, background then leavers
        kept()
        np.testing.assert_array_equal(acc.entries_real, expected)

    borders._count_entries = checked
    for _ in range(40):
        m.step()
    shared = borders._exit_host.tolist().count(int(borders._exit_host[3]))
    assert shared == 2 and acc.entries_real.sum() > 0
