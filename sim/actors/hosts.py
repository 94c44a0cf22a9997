"""Host countries: admission policy, dated changes, reversals past tolerance (F4, H4, H5)."""

from __future__ import annotations

from sim.config.schema import HostConfig, HostPolicyConfig
from sim.lazy_mesa import mesa


class Host(mesa.Agent):
    """One host country (or group of countries) with its own policy fields.

    Attributes:
        draftee_policy, deserter_policy: Current policies.
        admit_share: Share of arriving draftees admitted now.
        reversed_on: Day the host closed after passing a tolerance (None if never).
    """

    def __init__(self, model: mesa.Model, cfg: HostConfig, policies: HostPolicyConfig, index: int):
        super().__init__(model)
        self.cfg = cfg
        self.policies = policies
        self.index = index
        self.draftee_policy = cfg.draftee_policy
        self.deserter_policy = cfg.deserter_policy
        self._admit_override = cfg.admit_share
        self._closing_day: int | None = None
        self.reversed_on: int | None = None
        self.incidents = 0.0
        self._changes = sorted(cfg.policy_changes, key=lambda c: c.day)

    @property
    def admit_share(self) -> float:
        if self._admit_override is not None and self.draftee_policy != "closed":
            return self._admit_override
        return self.policies.policy_admit_share[self.draftee_policy]

    @property
    def deserter_admit_share(self) -> float:
        return self.policies.policy_admit_share[self.deserter_policy]

    def resettlement_usd(self, deserter: bool) -> float:
        policy = self.deserter_policy if deserter else self.draftee_policy
        return self.policies.policy_resettlement_usd[policy]

    def apply_policy_changes(self, day: int) -> None:
        """Apply dated changes up to ``day`` (history replays them from before day 0)."""
        while self._changes and self._changes[0].day <= day:
            c = self._changes.pop(0)
            if self.reversed_on is not None:
                continue  # a reversal is final
            if c.draftee_policy is not None:
                self.draftee_policy = c.draftee_policy
                self._admit_override = None
            if c.deserter_policy is not None:
                self.deserter_policy = c.deserter_policy
            if c.admit_share is not None:
                self._admit_override = c.admit_share

    def check_tolerance(self, day: int, admitted_real_today: float, new_incidents: float) -> None:
        """Schedule a reversal to closed once inflow or incidents pass tolerance (H4)."""
        self.incidents += new_incidents
        over = (self.cfg.inflow_tolerance_per_day is not None and admitted_real_today > self.cfg.inflow_tolerance_per_day) or (
            self.cfg.incident_tolerance is not None and self.incidents > self.cfg.incident_tolerance)
        if over and self._closing_day is None and self.reversed_on is None:
            self._closing_day = day + self.cfg.reversal_lag_days

    def step(self) -> None:
        day = self.model.day
        self.apply_policy_changes(day)
        if self._closing_day is not None and day >= self._closing_day and self.reversed_on is None:
            self.draftee_policy = "closed"
            self.deserter_policy = "closed"
            self._admit_override = None
            self.reversed_on = day
