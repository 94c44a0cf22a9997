"""Fuzzing the config boundary: whatever the text, the loader answers with a Scenario or a ConfigError.

Four generators of YAML text (random nested data; random mutations of baseline.yaml's
lines; random mutations deep inside baseline's data tree; YAML-ish character soup) and one
of ``--set`` strings. The property: ``parse_yaml_text``
and ``load_scenario`` either succeed (a valid :class:`Scenario`) or raise
:class:`sim.errors.ConfigError`; never a KeyError, TypeError, RecursionError, pydantic
ValidationError or anything else, which the CLI would print as a traceback.
"""

from __future__ import annotations

import copy
import string
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.config.loader import load_scenario
from sim.config.schema import Scenario, iter_fields
from sim.config.yaml_safe import parse_yaml_text
from sim.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
BASELINE_LINES = (REPO / "sim" / "scenarios" / "baseline.yaml").read_text(encoding="utf-8").splitlines()

# Keys that exist somewhere in the schema (dotted paths split up), so the fuzzer reaches
# validation rather than stopping at "unknown key" every time.
SCHEMA_PATHS = [p.replace("[]", "") for p, _, _ in iter_fields(Scenario)]
SCHEMA_KEYS = sorted({part for p in SCHEMA_PATHS for part in p.split(".")})
ITEM_NAMES = ["moscow_spb", "tuva", "upper_lars", "finland", "georgia", "eu_west", "contract", "cat1", "caplan_v2", "0", "1", "99"]
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], derandomize=True)

# YAML scalars chosen for their traps: YAML 1.1 booleans, octal, special floats, empties,
# tags, anchors, huge numbers, non-ASCII.
TRAP_TOKENS = [
    "yes", "no", "on", "off", "y", "n", "true", "false", "True", "FALSE", "~", "null", "", "''", '""',
    "0", "-0", "0042", "0o17", "0x1F", "1_000", "1e-3", "1e400", "-1e400", ".inf", "-.inf", ".nan", "1.", ".5",
    "9223372036854775808", "-1", "3650", "3651", "1e9", "5e-324", "2.5e7", "1:30", "2022-09-21",
    "!!str 5", "!!int '7'", "!!float 1", "!!binary aGk=", "!!set {a}", "!!omap [a: 1]", "!!timestamp 2001-12-14",
    "!!python/object/apply:os.system ['true']",  # harmless if it ever ran; it must be refused "!custom x", "&a 1", "*a", "*nosuch", "[]", "{}", "[1, [2, [3]]]",
    "{a: 1, a: 2}", "? [1, 2]\n  : 3", "|\n  text", ">-\n  folded", "\"\\x00\"", "\"\\ud800\"", "é", "日本",
    "baseline", "caplan", "../x.yaml", "x.yaml", "/etc/passwd", "a/b", "..",
]


def _scalar() -> st.SearchStrategy:
    return st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
        st.sampled_from(SCHEMA_KEYS + ITEM_NAMES),
    )


def _key() -> st.SearchStrategy:
    return st.one_of(st.sampled_from(SCHEMA_KEYS + ITEM_NAMES + ["extends", "name", "<<"]), st.text(max_size=8),
                     st.integers(-3, 3), st.booleans(), st.none())


def _data() -> st.SearchStrategy:
    return st.recursive(
        _scalar(),
        lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_key(), children, max_size=4)),
        max_leaves=20,
    )


@st.composite
def dumped_documents(draw) -> str:
    """Random nested data dumped as YAML (often mapping at the top, like a scenario)."""
    top = draw(st.one_of(st.dictionaries(_key(), _data(), max_size=6), _data()))
    if isinstance(top, dict) and draw(st.booleans()):
        top["extends"] = draw(st.sampled_from(["baseline", "caplan", "nosuch", "../baseline", 5, None, "baseline.yaml"]))
    try:
        return yaml.safe_dump(top, allow_unicode=draw(st.booleans()), default_flow_style=draw(st.sampled_from([None, True, False])))
    except (yaml.YAMLError, ValueError):
        return "name: x\n"


@st.composite
def mutated_baseline(draw) -> str:
    """baseline.yaml with a few lines deleted, duplicated, swapped, re-indented or re-valued."""
    lines = list(BASELINE_LINES)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent", "value", "junk", "truncate"]))
        line = lines[i]
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], line
        elif op == "indent":
            lines[i] = "  " + line
        elif op == "dedent":
            lines[i] = line[2:] if line.startswith("  ") else line
        elif op == "value" and ":" in line:
            head = line.split(":", 1)[0]
            lines[i] = f"{head}: {draw(st.sampled_from(TRAP_TOKENS))}"
        elif op == "junk":
            lines.insert(i, draw(st.text(alphabet=string.printable, max_size=30)))
        elif op == "truncate":
            lines[i] = line[: draw(st.integers(0, len(line)))]
        if not lines:
            lines = ["name: x"]
    return "\n".join(lines) + "\n"


BASELINE_DATA = yaml.safe_load("\n".join(BASELINE_LINES))


def _containers(node, path=()):
    yield path, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        if isinstance(v, (dict, list)):
            yield from _containers(v, path + (k,))


@st.composite
def mutated_tree(draw) -> str:
    """baseline's data with values replaced, keys dropped or added, deep inside the tree."""
    data = copy.deepcopy(BASELINE_DATA)
    data["extends"] = None
    for _ in range(draw(st.integers(1, 4))):
        spots = list(_containers(data))
        _, node = draw(st.sampled_from(spots))
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        op = draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if op == "add" or not keys:
            if isinstance(node, dict):
                node[draw(_key())] = draw(_data())
            else:
                node.append(draw(_data()))
        elif op == "drop":
            del node[draw(st.sampled_from(keys))]
        else:
            node[draw(st.sampled_from(keys))] = draw(st.one_of(_data(), st.sampled_from(TRAP_TOKENS)))
    return yaml.safe_dump(data, allow_unicode=True)


def yaml_soup() -> st.SearchStrategy:
    """Short strings over YAML's special characters: flow, block, anchors, tags, directives."""
    pieces = st.sampled_from(["\n", "  ", "- ", ": ", "? ", "{", "}", "[", "]", ",", "&a ", "*a", "!!", "!", "%YAML 1.1\n",
                              "---\n", "...\n", "#", "'", '"', "|", ">", "name", "run", "days", "extends", "baseline",
                              "1", "0042", "yes", "\t", "\\", "\x00", "\ufeff", "é"] + TRAP_TOKENS)
    return st.lists(pieces, max_size=40).map("".join)


@st.composite
def override(draw) -> str:
    """A ``--set`` string: a real or nearly-real key path and a trap value."""
    path = draw(st.sampled_from(SCHEMA_PATHS)).split(".")
    if draw(st.booleans()) and len(path) > 1:
        path.insert(1, draw(st.sampled_from(ITEM_NAMES)))
    mutation = draw(st.sampled_from(["none", "none", "typo", "drop", "empty", "extra"]))
    if mutation == "typo":
        k = draw(st.integers(0, len(path) - 1))
        path[k] = path[k][:-1] + "z"
    elif mutation == "drop" and len(path) > 1:
        path.pop(draw(st.integers(0, len(path) - 1)))
    elif mutation == "empty":
        path.insert(draw(st.integers(0, len(path))), "")
    elif mutation == "extra":
        path.append(draw(st.sampled_from(SCHEMA_KEYS)))
    value = draw(st.one_of(st.sampled_from(TRAP_TOKENS), st.text(max_size=10)))
    sep = draw(st.sampled_from(["=", "=", "=", "==", " = ", ""]))
    return ".".join(path) + sep + value


def _parse_ok_or_config_error(text: str) -> None:
    try:
        parse_yaml_text(text, "fuzz.yaml")
    except ConfigError as exc:
        assert "\n" not in str(exc), f"multi-line error: {exc!r}"


def _load_ok_or_config_error(path: Path, text: str, overrides: list[str]) -> None:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        sc = load_scenario(path, overrides)
    except ConfigError as exc:
        assert "\n" not in str(exc), f"multi-line error: {exc!r}"
        assert str(exc).startswith((str(path), "--set", "<command line>", str(REPO / "sim" / "scenarios"))), str(exc)
        return
    assert isinstance(sc, Scenario)


@pytest.fixture(scope="module")
def fuzz_file() -> Path:
    with tempfile.TemporaryDirectory(prefix="asylumsim-fuzz-") as d:
        yield Path(d) / "fuzz.yaml"


# 150 examples in all: 60 + 50 + 40.

@settings(max_examples=60, **SETTINGS)
@given(text=st.one_of(dumped_documents(), mutated_baseline(), mutated_tree(), yaml_soup()))
def test_parse_yaml_text_returns_data_or_config_error(text):
    _parse_ok_or_config_error(text)


@settings(max_examples=50, **SETTINGS)
@given(text=st.one_of(dumped_documents(), mutated_baseline(), mutated_tree(), yaml_soup()))
def test_load_scenario_returns_scenario_or_config_error(fuzz_file, text):
    _load_ok_or_config_error(fuzz_file, text, [])


@settings(max_examples=40, **SETTINGS)
@given(text=st.one_of(st.just("extends: baseline\nname: fuzz\n"), mutated_baseline(), mutated_tree()),
       overrides=st.lists(override(), min_size=1, max_size=4))
def test_overrides_return_scenario_or_config_error(fuzz_file, text, overrides):
    _load_ok_or_config_error(fuzz_file, text, overrides)
