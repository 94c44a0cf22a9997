"""Scenario configuration: schema, strict YAML, extends, overrides, validation."""

from sim.config.files import list_scenarios, resolve_ref
from sim.config.loader import load_scenario
from sim.config.schema import Scenario

__all__ = ["Scenario", "list_scenarios", "load_scenario", "resolve_ref"]
