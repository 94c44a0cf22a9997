"""Generate the reference docs from the code: ``docs/claims.md`` and ``docs/parameters.md``.

Usage::

    python -m sim.docs_gen          # (re)write the docs
    python -m sim.docs_gen --check  # exit 1, naming each stale doc, if any differs

The output depends only on the schema (``sim/config/schema.py``), the claims registry
(``sim/data/claims.yaml``, read by ``sim/claims.py``) and the scenario files
(``sim/scenarios/*.yaml``), never on the clock or the machine, so the tests can require the
committed docs to equal a fresh generation. The numbers quoted in README.md and
docs/guide.md come from a model run instead: see :mod:`sim.published`.
"""

from __future__ import annotations

import argparse
import re
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.claims import CLAIMS, Claim, parameter_annotation, resolve_parameter, schema_paths
from sim.config.schema import Scenario, constraint_metadata, iter_fields, plausible_of
from sim.config.yaml_safe import read_yaml_file
from sim.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
CLAIMS_DOC = "docs/claims.md"
PARAMETERS_DOC = "docs/parameters.md"
REGENERATE = "python -m sim.docs_gen"

SECTIONS = {
    "F": "Flight of draftees",
    "D": "Defection at the front",
    "R": "Replacement",
    "P": "Protest and voice",
    "H": "Host-country security",
    "M": "What the debate is judged by",
}
"""CLAIMS.md's section for each claim-id prefix."""


# ---------------------------------------------------------------------------------------
# rendering values and bounds


def render_value(value: Any) -> str:
    """A parameter value as a user would write it in YAML (lists of models summarised)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if abs(value) >= 1e6 and float(f"{value:g}") == value:
            return f"{value:g}".replace("e+0", "e").replace("e+", "e")
        return repr(value)
    if value == "":
        return '""'
    if isinstance(value, BaseModel):
        return render_value(value.model_dump())
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {render_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], BaseModel):
            names = [getattr(v, "name", None) for v in value]
            return f"{len(value)} items" + (f" ({', '.join(names)})" if all(names) else "")
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    return str(value)


def _literal_choices(ann: Any) -> tuple[str, list[str]] | None:
    """("one of" | "items" | "keys", choices) for Literal-typed fields, else None."""
    origin = typing.get_origin(ann)
    if origin is typing.Literal:
        return "one of", [str(a) for a in typing.get_args(ann)]
    if origin in (typing.Union, types.UnionType):
        for a in typing.get_args(ann):
            got = _literal_choices(a)
            if got:
                return got
    if origin is list:
        inner = _literal_choices(typing.get_args(ann)[0])
        return ("items from", inner[1]) if inner else None
    if origin is dict:
        inner = _literal_choices(typing.get_args(ann)[0])
        return ("keys from", inner[1]) if inner else None
    return None


def bounds_text(info: FieldInfo, ann: Any) -> str:
    """Bounds (ge/le/gt/lt), allowed values, length and pattern limits of a field, or ``""``."""
    lo = hi = None
    parts: list[str] = []
    for m in constraint_metadata(info, ann):
        if isinstance(m, at.Ge | at.Gt):
            lo = (m.ge, True) if isinstance(m, at.Ge) else (m.gt, False)
        elif isinstance(m, at.Le | at.Lt):
            hi = (m.le, True) if isinstance(m, at.Le) else (m.lt, False)
        elif isinstance(m, at.MaxLen):
            parts.append(f"at most {m.max_length} characters")
        pattern = getattr(m, "pattern", None)
        if isinstance(pattern, str):
            parts.append(f"pattern `{pattern}`")
    if lo and hi:
        parts.insert(0, f"{'[' if lo[1] else '('}{render_value(lo[0])}, {render_value(hi[0])}{']' if hi[1] else ')'}")
    elif lo:
        parts.insert(0, f"{'≥' if lo[1] else '>'} {render_value(lo[0])}")
    elif hi:
        parts.insert(0, f"{'≤' if hi[1] else '<'} {render_value(hi[0])}")
    choices = _literal_choices(ann)
    if choices:
        parts.insert(0, f"{choices[0]}: {', '.join(choices[1])}")
    if parts and type(None) in typing.get_args(ann):
        parts.append("or null")
    return "; ".join(parts)


def plausible_text(info: FieldInfo, with_source: bool = True) -> str:
    """A field's plausible range for the docs (``""`` if it declares none).

    ``[lo, hi]`` is uniform, ``log-uniform [lo, hi]`` uniform in the log, ``x[lo, hi]`` a
    log-uniform factor on the scenario's own value, ``one of a, b`` a discrete choice.
    """
    spec = plausible_of(info)
    if spec is None:
        return ""
    dist = spec["dist"]
    if dist == "choice":
        text = "one of " + ", ".join(render_value(v) for v in spec["values"])
    else:
        lo, hi = render_value(spec["lo"]), render_value(spec["hi"])
        text = {"uniform": f"[{lo}, {hi}]", "loguniform": f"log-uniform [{lo}, {hi}]",
                "factor": f"x[{lo}, {hi}] of the value"}[dist]
    return f"{text} ({spec['source']})" if with_source else text


def _cell(text: str) -> str:
    """Make text safe inside a markdown table cell (no column breaks, no inline math)."""
    return _text(text).replace("|", "\\|").replace("\n", " ")


def _text(text: str) -> str:
    """Escape dollar signs outside code spans so math-aware renderers show them literally."""
    pieces = re.split(r"(`[^`]*`)", text)
    return "".join(p if p.startswith("`") else p.replace("$", "\\$") for p in pieces)


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


# ---------------------------------------------------------------------------------------
# which scenarios set which parameters


def _list_paths() -> set[str]:
    """Schema paths that are lists of models (their items appear as ``path[]``)."""
    return {p[: m.start()] for p in schema_paths() for m in re.finditer(r"\[\]", p)}


def set_paths(data: Any, lists: set[str], path: str = "") -> Iterator[str]:
    """Parameter paths a scenario document sets, in schema notation.

    List items become ``[]``; a mapping given where the schema has a list of named items
    (the loader's patch-by-name form, ``hosts: {georgia: {...}}``) counts as its items.
    """
    if isinstance(data, dict):
        if path in lists:
            for item in data.values():
                yield from set_paths(item, lists, path + "[]")
            return
        for key, value in data.items():
            child = f"{path}.{key}" if path else str(key)
            yield child
            yield from set_paths(value, lists, child)
    elif isinstance(data, list) and path in lists:
        for item in data:
            yield from set_paths(item, lists, path + "[]")


def scenario_parameters(scenarios_dir: Path) -> dict[str, set[str] | str]:
    """For each scenario file (baseline excluded): the paths it sets, or its raw text if unparsable."""
    lists = _list_paths()
    out: dict[str, set[str] | str] = {}
    for path in sorted(scenarios_dir.glob("*.yaml")):
        if path.stem == "baseline":
            continue
        try:
            out[path.stem] = set(set_paths(read_yaml_file(path), lists))
        except ConfigError:
            out[path.stem] = path.read_text(encoding="utf-8", errors="replace")
    return out


def scenarios_for(claim: Claim, scenarios: dict[str, set[str] | str]) -> list[str]:
    """Scenarios whose own YAML sets any of the claim's parameters.

    An unparsable file counts when its text has a key named like a parameter's last segment.
    """
    hits = []
    for name, content in scenarios.items():
        if isinstance(content, str):
            segments = {p.rsplit(".", 1)[-1].removesuffix("[]") for p in claim.parameters}
            if any(re.search(rf"(?<![\w.]){re.escape(s)}\s*:", content) for s in segments):
                hits.append(name)
        elif content.intersection(claim.parameters):
            hits.append(name)
    return hits


# ---------------------------------------------------------------------------------------
# the documents


def _param_row(path: str) -> tuple[str, str, str, str, str]:
    info = resolve_parameter(path)
    ann = parameter_annotation(path)
    unit = (info.json_schema_extra or {}).get("unit", "") if isinstance(info.json_schema_extra, dict) else ""
    default = render_value(info.get_default(call_default_factory=True))
    return (default, bounds_text(info, ann), str(unit), str((info.json_schema_extra or {}).get("source", "")),
            plausible_text(info))


def claims_doc(scenarios_dir: Path) -> str:
    """The text of ``docs/claims.md``."""
    scenarios = scenario_parameters(scenarios_dir)
    lines = [
        "# Claims -> sources -> parameters -> mechanisms",
        "",
        f"Generated by `{REGENERATE}` from the claims registry (`sim/data/claims.yaml`), the scenario",
        "schema (`sim/config/schema.py`) and `sim/scenarios/*.yaml`. Do not edit by hand: edit those and",
        f"rerun `{REGENERATE}`; the tests fail when this file is stale. `asylumsim claims` prints",
        "the same mapping with the baseline values.",
        "",
        "Every claim of `CLAIMS.md` (the articles' and the comment threads' arguments) names the",
        "parameters that turn it up, down or off, the module that uses them, and the daily outcome",
        "columns where it shows. Parameter paths use `[]` for each item of a list (`offers[].payment_usd`",
        "is the payment of every offer); the default of such a path is the default of a new item, and",
        "the baseline's actual items are in `sim/scenarios/baseline.yaml`. Outcome names with `<host>`,",
        "`<exit>`, `<source>` or `<offer>` have one column per name. \"Scenarios\" lists the scenario",
        "files whose own YAML sets one of the claim's parameters (values inherited through `extends`",
        "do not count; `baseline.yaml` states every parameter and is not listed). Descriptions, units",
        "and sources of every parameter are in [parameters.md](parameters.md). \"Validation bounds\" are",
        "what a scenario may set; the \"plausible range\" is where the value plausibly lies, with its",
        "source, and is what `asylumsim explore` samples ([sensitivity.md](sensitivity.md)); a `-`",
        "marks a policy lever, a fact of the sources or a structure that is not sampled.",
        "",
        "| id | claim | source | mechanism | scenarios |",
        "|---|---|---|---|---|",
    ]
    hits = {c.id: scenarios_for(c, scenarios) for c in CLAIMS}
    for c in CLAIMS:
        lines.append(f"| [{c.id}](#{c.id.lower()}) | {_cell(c.short_text)} | {_cell(c.source)} | "
                     f"`{c.mechanism}` | {', '.join(hits[c.id]) or '-'} |")
    section = ""
    for c in CLAIMS:
        if SECTIONS[c.id[0]] != section:
            section = SECTIONS[c.id[0]]
            lines += ["", f"## {section}"]
        scen = ", ".join(f"[{n}](../sim/scenarios/{n}.yaml)" for n in hits[c.id]) or "none yet"
        lines += [
            "",
            f"### {c.id}",
            "",
            f"> {_text(c.text)}",
            "",
            f"- **Source:** {c.source}",
            f"- **In the model:** {c.becomes}",
            f"- **Mechanism:** `{c.mechanism}`",
            f"- **Outcome columns:** {', '.join(_code(o) for o in c.outcomes)}",
            f"- **Scenarios:** {scen}",
            "",
            "| parameter | default | validation bounds | plausible range (source) | unit |",
            "|---|---|---|---|---|",
        ]
        for p in c.parameters:
            default, bounds, unit, _, plausible = _param_row(p)
            lines.append(f"| `{p}` | {_cell(_code(default))} | {_cell(bounds)} | {_cell(plausible or '-')} | "
                         f"{_cell(unit)} |")
    return "\n".join(lines) + "\n"


def parameters_doc() -> str:
    """The text of ``docs/parameters.md``."""
    lines = [
        "# Scenario parameters",
        "",
        f"Generated by `{REGENERATE}` from `sim/config/schema.py`, the single source of truth for",
        f"every parameter. Do not edit by hand: edit the schema and rerun `{REGENERATE}`; the tests",
        "fail when this file is stale.",
        "",
        "Paths are the keys of a scenario YAML file, dotted. `[]` marks each item of a list:",
        "`hosts[].draftee_policy` is the `draftee_policy` of every host, and its default is the default",
        "of a new item (the baseline's own hosts, exits, regions and sources are in",
        "`sim/scenarios/baseline.yaml`). Bounds are inclusive with `[ ]` and exclusive with `( )`. Sources",
        "are `CLAIMS.md` article ids (`000`..`004`, with comment threads), rows of",
        "`sim/data/calibration_2022.csv` (`csv:...`), published models, or `assumption`; claim ids in",
        "descriptions (F1, D9, ...) refer to [claims.md](claims.md).",
        "",
        "Bounds are what validation accepts; the *plausible range* is where the value plausibly",
        "lies, with its own source: what `asylumsim explore` samples (`range: plausible`,",
        "[sensitivity.md](sensitivity.md)). `[lo, hi]` is uniform, `log-uniform [lo, hi]` uniform in",
        "the log, `x[lo, hi] of the value` a log-uniform factor on the scenario's own value (one factor",
        "moves every item of a list; results are clipped to the bounds), `one of ...` a discrete",
        "(structural) choice, sampled with equal probability. A parameter without a plausible range is",
        "a fact of the sources, a policy lever or a run setting, not an uncertainty.",
    ]
    groups: dict[str, list[tuple[str, FieldInfo, Any]]] = {}
    for path, info, ann in iter_fields(Scenario):
        top = re.split(r"[.\[]", path, maxsplit=1)[0]
        key = top if path != top or top not in ("name", "description", "extends") else ""
        groups.setdefault(key, []).append((path, info, ann))
    for key, fields in groups.items():
        title = "Scenario (top level)" if not key else f"`{key}`"
        intro = "" if not key else (Scenario.model_fields[key].description or "")
        lines += ["", f"## {title}", ""]
        if intro:
            lines += [f"{intro}.", ""]
        lines += ["| parameter | description | default | bounds | plausible range (source) | unit | source |",
                  "|---|---|---|---|---|---|---|"]
        for path, info, _ in fields:
            default, bounds, unit, source, plausible = _param_row(path)
            lines.append(f"| `{path}` | {_cell(info.description or '')} | {_cell(_code(default))} | "
                         f"{_cell(bounds)} | {_cell(plausible)} | {_cell(unit)} | {_cell(source)} |")
    return "\n".join(lines) + "\n"


def generate(scenarios_dir: Path | None = None) -> dict[str, str]:
    """Every generated doc: {path relative to the repository: text}."""
    scenarios_dir = scenarios_dir or REPO / "sim" / "scenarios"
    return {CLAIMS_DOC: claims_doc(scenarios_dir), PARAMETERS_DOC: parameters_doc()}


def stale_docs(root: Path = REPO, scenarios_dir: Path | None = None) -> list[str]:
    """Generated docs under ``root`` that are missing or differ from a fresh generation."""
    stale = []
    for rel, text in generate(scenarios_dir or root / "sim" / "scenarios").items():
        target = root / rel
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            stale.append(rel)
    return stale


def write_docs(root: Path = REPO, scenarios_dir: Path | None = None) -> list[str]:
    """Write every generated doc under ``root``; return the ones that changed."""
    changed = []
    for rel, text in generate(scenarios_dir or root / "sim" / "scenarios").items():
        target = root / rel
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8", newline="\n")
        tmp.replace(target)
        changed.append(rel)
    return changed


def main(argv: list[str] | None = None, root: Path = REPO) -> int:
    """Command-line entry: write the docs, or with ``--check`` report stale ones (exit 1)."""
    parser = argparse.ArgumentParser(prog="python -m sim.docs_gen", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated doc is stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_docs(root)
        for rel in stale:
            print(f"stale: {rel} (run `{REGENERATE}`)", file=sys.stderr)
        return 1 if stale else 0
    for rel in write_docs(root):
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
