"""Render a Scenario as commented YAML: every value with its description and source.

Used by ``asylumsim show`` and to write ``sim/scenarios/baseline.yaml``; the output parses
back (strictly) to the same scenario.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from sim.config.schema import Scenario


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e15:
            return f"{v:.1f}"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_scalar(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot render {type(v).__name__}")


def _comment(model: type[BaseModel], field: str) -> str:
    info = model.model_fields[field]
    extra = info.json_schema_extra or {}
    unit = f" [{extra['unit']}]" if isinstance(extra, dict) and extra.get("unit") else ""
    src = extra.get("source", "") if isinstance(extra, dict) else ""
    return f"  # {info.description or ''}{unit} (source: {src})" if info.description else ""


def _emit(obj: BaseModel, indent: int, lines: list[str], first_prefix: str | None = None) -> None:
    cls = type(obj)
    pad = " " * indent
    for i, name in enumerate(cls.model_fields):
        value = getattr(obj, name)
        prefix = first_prefix if (first_prefix is not None and i == 0) else pad
        comment = _comment(cls, name)
        if isinstance(value, BaseModel):
            lines.append(f"{prefix}{name}:{comment}")
            _emit(value, indent + 2, lines)
        elif isinstance(value, list) and value and all(isinstance(x, BaseModel) for x in value):
            lines.append(f"{prefix}{name}:{comment}")
            for item in value:
                _emit(item, indent + 4, lines, first_prefix=" " * (indent + 2) + "- ")
        else:
            plain = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
            if isinstance(plain, list) and plain and isinstance(plain[0], tuple):
                plain = [list(x) for x in plain]
            lines.append(f"{prefix}{name}: {_scalar(plain)}{comment}")


def render_yaml(scenario: Scenario, header: str = "") -> str:
    """Return the scenario as commented YAML text."""
    lines = [f"# {line}" for line in header.splitlines()] if header else []
    _emit(scenario, 0, lines)
    return "\n".join(lines) + "\n"
