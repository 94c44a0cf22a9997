"""The allocator settings (sim/allocator.py): harmless everywhere, applied once."""

from __future__ import annotations

import subprocess
import sys

from sim import allocator


def test_tune_allocator_is_idempotent_and_returns_a_bool():
    first = allocator.tune_allocator()
    assert isinstance(first, bool)
    assert allocator.tune_allocator() is first


def test_opt_out_and_user_settings_win():
    code = "from sim.allocator import tune_allocator; print(tune_allocator())"
    for env in ({"ASYLUMSIM_MALLOC_TUNING": "0"}, {"MALLOC_TRIM_THRESHOLD_": "4096"}):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, "PATH": ""}, check=True)
        assert out.stdout.strip() == "False"


def test_worker_environment_names_glibc_variables():
    env = allocator.worker_environment()
    assert set(env) == {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"}
    assert all(v.isdigit() for v in env.values())
