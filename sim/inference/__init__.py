"""Inference: calibration targets (:mod:`sim.inference.targets`) and ABC-SMC calibration
with pyabc (:mod:`sim.inference.abc`)."""
