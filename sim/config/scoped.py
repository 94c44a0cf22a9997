"""``--set`` scoped to one scenario: ``--set caplan:offers.caplan_v2.payment_usd=50000``.

In a comparison (and in an experiment file) every ``--set`` applies to every scenario
unless its key names a scenario before a colon; a scoped ``--set`` applies to that one
scenario only. Keys never contain a colon (values may: ``package:NAME``), so the scope is
the text before the first colon of the part before ``=``. Errors name the scenario that
could not take the value.
"""

from __future__ import annotations

from pathlib import Path

from sim.errors import ConfigError


def split_scope(text: str) -> tuple[str | None, str]:
    """``"caplan:a.b=1"`` -> ``("caplan", "a.b=1")``; an unscoped ``"a.b=1"`` -> ``(None, "a.b=1")``."""
    key, eq, value = text.partition("=")
    scope, colon, rest = key.partition(":")
    if not colon:
        return None, text
    scope = scope.strip()
    if not scope:
        raise ConfigError("--set", text, "empty scenario before ':' (write SCENARIO:KEY=VALUE)")
    return scope, rest + eq + value


def scope_matches(scope: str, ref: str) -> bool:
    """Whether a scope names the scenario given as ``ref`` (its name as typed, or a file's stem)."""
    return scope == ref or scope == Path(ref).stem


def overrides_for(sets: list[str], refs: list[str]) -> list[list[str]]:
    """The ``--set`` texts each scenario takes, in order: unscoped ones and its own.

    Args:
        sets: ``--set`` texts, scoped (``name:key=value``) or not.
        refs: The scenarios as given (names or YAML paths), in order.

    Returns:
        One list of unscoped ``key=value`` texts per scenario of ``refs``.

    Raises:
        ConfigError: a scope names no scenario of ``refs``.
    """
    out: list[list[str]] = [[] for _ in refs]
    for text in sets:
        scope, plain = split_scope(text)
        hits = [i for i, r in enumerate(refs) if scope is None or scope_matches(scope, r)]
        if not hits:
            raise ConfigError("--set", text, f"no scenario {scope!r} here (scenarios: {', '.join(refs)}); "
                              "write SCENARIO:KEY=VALUE with one of them")
        for i in hits:
            out[i].append(plain)
    return out


def name_scenario(exc: ConfigError, scenario: str, example: str | None = None,
                  file: str | None = None, file_sets: list[str] | tuple[str, ...] = ()) -> ConfigError:
    """``exc`` raised while loading ``scenario`` with ``--set``, re-worded to name the scenario.

    A ``--set`` error from another source (the file itself) is returned unchanged; for one
    from ``--set`` the hint suggests scoping it (``example``: the scoped form to show). One
    whose key an entry of ``file_sets`` sets (an experiment file's ``set:``) names ``file``
    and its ``set`` key instead of the command line.
    """
    if exc.source != "--set":
        return exc
    keys = [split_scope(t)[1].partition("=")[0].strip() for t in file_sets]
    if file is not None and any(k and (exc.key == k or exc.key.startswith(k + ".")) for k in keys):
        return ConfigError(f"{file}: set (scenario {scenario!r})", exc.key, exc.problem)
    hint = f"; to set it in one scenario only, scope it: --set {example}" if example else ""
    return ConfigError(f"--set (scenario {scenario!r})", exc.key, exc.problem + hint)


SHARED_RUN_KEYS = ("run.days", "run.seed", "run.replications")


def refuse_scoped_run_settings(sets: list[str], base_ref: str) -> None:
    """A ``--set NAME:run.days=...`` (or ``run.seed``, ``run.replications``) for a scenario other
    than the baseline would be replaced by the baseline's value, which every scenario of a
    comparison shares so that replication i is paired: refuse it rather than ignore it.

    Raises:
        ConfigError: source ``--set``, key = the text given, naming the fix.
    """
    for text in sets:
        scope, rest = split_scope(text)
        rest = rest.strip()
        key = rest.partition("=")[0].strip()
        shared = key in SHARED_RUN_KEYS or key == "run"  # run.days=..., or the section: run={days: 3}
        if scope is not None and shared and not scope_matches(scope, base_ref):
            raise ConfigError("--set", text, f"in a comparison every scenario takes the baseline's run settings "
                              f"({', '.join(SHARED_RUN_KEYS)}: replication i is paired across scenarios): set them "
                              f"for all (--set {rest}) or scope them to the baseline ({base_ref}:{key}=...)")
