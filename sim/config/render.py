"""Render a Scenario as commented YAML: every value with its description and source.

Used by ``asylumsim show`` and to write ``sim/scenarios/baseline.yaml``; the output parses
back (strictly) to the same scenario.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel

from sim.config.schema import Scenario


# Characters a YAML reader refuses or reads as a line break inside a quoted scalar
# (C0/C1 controls, DEL, NEL, line/paragraph separators, BOM, lone surrogates): written as
# escapes. Over-escaping is harmless (\\u escapes always parse back to the same text).
def _needs_escape(c: str) -> bool:
    return not c.isprintable() and c != " "


def quote(text: str) -> str:
    """``text`` as a double-quoted YAML scalar that reads back exactly.

    JSON string syntax is a subset of YAML's double-quoted style; on top of it, every
    non-printable character is written as ``\\xXX``, ``\\uXXXX`` or ``\\UXXXXXXXX``.
    """
    body = json.dumps(text, ensure_ascii=False)
    if all(not _needs_escape(c) for c in body):
        return body
    out = []
    for c in body:
        n = ord(c)
        if not _needs_escape(c):
            out.append(c)
        elif n <= 0xFF:
            out.append(f"\\x{n:02x}")
        elif n <= 0xFFFF:
            out.append(f"\\u{n:04x}")
        else:
            out.append(f"\\U{n:08x}")
    return "".join(out)


_PLAIN_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


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
        return quote(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k if _PLAIN_KEY.match(str(k)) else quote(str(k))}: {_scalar(x)}" for k, x in v.items()) + "}"
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
    lines = [f"# {''.join(c if not _needs_escape(c) else repr(c)[1:-1] for c in line)}" for line in header.splitlines()] if header else []
    _emit(scenario, 0, lines)
    return "\n".join(lines) + "\n"
