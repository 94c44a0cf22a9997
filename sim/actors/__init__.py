"""Institutional actors as mesa.Agent objects: they decide once a day from aggregate state."""

from typing import NamedTuple

from sim.actors.hosts import Host
from sim.actors.kremlin import Kremlin
from sim.actors.offer_maker import OfferMaker, flight_pull


class Actors(NamedTuple):
    """The institutions of one model, as the submodels receive them."""

    kremlin: Kremlin
    hosts: list[Host]
    offers: list[OfferMaker]


__all__ = ["Actors", "Host", "Kremlin", "OfferMaker", "flight_pull"]
