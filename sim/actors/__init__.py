"""Institutional actors as mesa.Agent objects: they decide once a day from aggregate state."""

from sim.actors.hosts import Host
from sim.actors.kremlin import Kremlin
from sim.actors.offer_maker import OfferMaker

__all__ = ["Host", "Kremlin", "OfferMaker"]
