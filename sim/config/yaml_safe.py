"""A strict, safe YAML reader for scenario files.

Differences from ``yaml.safe_load`` and why:
- no tags that build objects (only the plain safe types exist at all);
- duplicate keys are an error (YAML silently keeps the last one);
- YAML 1.1 surprises are resolved the way a user means them: only ``true``/``false``
  are booleans (``off``/``yes`` stay strings), ``1e-3`` is a float, and integers with a
  leading zero (``0042``, which YAML 1.1 reads as octal) are refused;
- alias graphs are measured before use, so a "billion laughs" document is refused
  quickly instead of exhausting memory downstream;
- only regular files are read, and at most ``MAX_BYTES`` of them (counted while
  reading), so a FIFO or ``/dev/zero`` cannot hang or exhaust the reader;
- nesting deeper than ``MAX_DEPTH`` is refused with this module's own message, whatever the
  YAML library does at depth (PyYAML's C parser stops at its own limit with its own wording,
  the pure-Python one runs out of recursion): the depth is measured here, not read from
  the library's error text.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sim.errors import ConfigError

MAX_BYTES = 1_000_000
MAX_EXPANDED_NODES = 200_000
MAX_DEPTH = 100
"""Deepest nesting of mappings and lists a document may have (a scenario needs about 6)."""
NESTED_TOO_DEEPLY = f"document is nested too deeply (more than {MAX_DEPTH} levels)"

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$")
_LEADING_ZERO_INT = re.compile(r"^[-+]?0[0-9_]+$")
# A float needs a digit ("." and ".e5" are not numbers) and a dot or an exponent.
_FLOAT = re.compile(
    r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+)$"
    r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
)
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")


# libyaml's parser is ~10x faster than the pure-Python one, so a 1 MB file is refused or read
# in about a second rather than ten; resolution and construction stay in Python either way.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader with YAML-1.2-like scalars and duplicate-key detection."""


# Replace every implicit resolver so only our patterns decide scalar types.
_StrictLoader.yaml_implicit_resolvers = {}
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""])
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:str", _LEADING_ZERO_INT, list("-+0123456789")
)

# An explicit tag (``!!int "0042"``, ``!!bool yes``, ``!!int 1:30``) would bring back the
# YAML 1.1 readings the resolvers above avoid, so tagged scalars must look the same as
# untagged ones.
_SCALAR_FORMS = {
    "tag:yaml.org,2002:int": (_INT,),
    "tag:yaml.org,2002:float": (_FLOAT, _INT),
    "tag:yaml.org,2002:bool": (_BOOL,),
    "tag:yaml.org,2002:null": (_NULL,),
}

_ALLOWED_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


def _check_graph(node: Node, source: str) -> None:
    """Refuse unknown tags, leading-zero integers, duplicate keys and alias bombs."""
    expanded: dict[int, int] = {}

    def size(n: Node, path: str, stack: tuple[int, ...]) -> int:
        if id(n) in stack:
            raise ConfigError(source, path, "recursive YAML alias")
        if len(stack) >= MAX_DEPTH and not isinstance(n, ScalarNode):
            raise ConfigError(source, "", NESTED_TOO_DEEPLY)
        if id(n) in expanded:
            return expanded[id(n)]
        if n.tag not in _ALLOWED_TAGS:
            raise ConfigError(source, path, f"YAML tag {n.tag!r} is not allowed (plain YAML only)")
        total = 1
        if isinstance(n, ScalarNode):
            if not n.style and _LEADING_ZERO_INT.match(n.value):  # plain: None (Python) or "" (libyaml)
                raise ConfigError(
                    source, path, f"{n.value!r} has a leading zero (octal in YAML 1.1); write it without"
                )
            forms = _SCALAR_FORMS.get(n.tag)
            if forms is not None and not any(f.match(n.value) for f in forms):
                kind = n.tag.rsplit(":", 1)[-1]
                raise ConfigError(source, path, f"{n.value!r} is not a valid {kind}")
        elif isinstance(n, SequenceNode):
            for i, child in enumerate(n.value):
                total += size(child, f"{path}[{i}]", stack + (id(n),))
        elif isinstance(n, MappingNode):
            seen: set[str] = set()
            for key_node, value_node in n.value:
                key = key_node.value if isinstance(key_node, ScalarNode) else "<complex key>"
                sub = f"{path}.{key}" if path else str(key)
                if key == "<<":
                    raise ConfigError(source, sub, "YAML merge keys ('<<') are not supported; use extends:")
                if key in seen:
                    raise ConfigError(source, sub, "duplicate key")
                seen.add(key)
                total += size(key_node, sub, stack + (id(n),))
                total += size(value_node, sub, stack + (id(n),))
        if total > MAX_EXPANDED_NODES:
            raise ConfigError(
                source, path, f"document expands to more than {MAX_EXPANDED_NODES} nodes (alias bomb?)"
            )
        expanded[id(n)] = total
        return total

    size(node, "", ())


def one_line(text: str) -> str:
    """Escape line breaks and other unprintable characters, so an error stays one line."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def one_line_error(exc: ConfigError) -> ConfigError:
    """The same error with its source, key and problem on one line each."""
    parts = (exc.source, exc.key, exc.problem)
    if all(p.isprintable() for p in parts):
        return exc
    return ConfigError(*(one_line(p) for p in parts))


def parse_yaml_text(text: str, source: str) -> Any:
    """Parse one YAML document strictly.

    Args:
        text: The document.
        source: Name used in error messages (usually the file path).

    Returns:
        Plain Python data (dict, list, str, int, float, bool, None).

    Raises:
        ConfigError: On any syntax, tag, duplicate-key or size problem.
    """
    try:
        return _parse(text, source)
    except ConfigError as exc:
        raise one_line_error(exc) from None


def _parse(text: str, source: str) -> Any:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ConfigError(source, "", f"file is larger than {MAX_BYTES} bytes")
    try:
        loader = _StrictLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_graph(node, source)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except ConfigError:
        raise
    except (yaml.YAMLError, RecursionError) as exc:
        # Whatever a library says when nesting runs too deep, the user reads our message.
        mark = getattr(exc, "problem_mark", None)
        if _deeper_than(text, MAX_DEPTH, end=mark.index + 1 if mark is not None else None):
            raise ConfigError(source, "", NESTED_TOO_DEEPLY) from None
        if isinstance(exc, RecursionError):
            raise ConfigError(source, "", NESTED_TOO_DEEPLY) from None
        raise _syntax_error(exc, source) from None
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        # a constructor choked on a value the checks above let through
        raise ConfigError(source, "", f"cannot read a value ({type(exc).__name__}: {exc})") from None


def _syntax_error(exc: yaml.YAMLError, source: str) -> ConfigError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return ConfigError(source, "", f"YAML syntax error at {where}{exc.problem}")
    return ConfigError(source, "", f"YAML error: {exc}".splitlines()[0])


PURE_PYTHON_DEPTH_SCAN = 200_000
"""Up to this many characters, a failed parse is rescanned with PyYAML's pure-Python parser."""


def _deeper_than(text: str, limit: int, end: int | None = None) -> bool:
    """Whether mappings and lists nest more than ``limit`` deep in ``text[:end]``.

    Called only after parsing failed, to tell a depth failure from a syntax error without
    relying on the library's wording. Up to ``PURE_PYTHON_DEPTH_SCAN`` characters (every
    realistic scenario) it counts the start and end events of PyYAML's pure-Python parser: a
    state machine with no recursion and no depth limit of its own, which stops at the first
    level past ``limit``. Longer text would take seconds that way, so it is read with the
    parser in use (libyaml, fast), whose scanner stops at its own depth limit up to one
    simple key (1024 characters) before yielding the events there; the brackets still open
    in that unread stretch are added to the depth reached.
    """
    prefix = text[:end]
    fast = len(prefix) > PURE_PYTHON_DEPTH_SCAN
    depth = 0
    seen = 0
    try:
        for event in yaml.parse(prefix, Loader=_BaseLoader if fast else yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limit:
                    return True
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            seen = event.end_mark.index if event.end_mark is not None else seen
    except (yaml.YAMLError, RecursionError):
        pass
    if not fast:
        return False
    rest = prefix[seen:]
    return depth + rest.count("[") + rest.count("{") - rest.count("]") - rest.count("}") > limit


def read_limited(path: Path, limit: int = MAX_BYTES) -> bytes:
    """Read a regular file of at most ``limit`` bytes, counting while reading.

    FIFOs, devices and sockets (also behind a symlink) are refused without blocking, and
    the size is not trusted from ``stat`` (``/proc`` files and growing files report 0).

    Raises:
        ConfigError: naming the file: not a regular file, larger than ``limit`` bytes,
            or any OS error (missing, unreadable, name too long).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read file ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise ConfigError(str(path), "", "not a regular file")
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read file ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise ConfigError(str(path), "", f"file is larger than {limit} bytes")
    return data


def read_yaml_file(path: Path) -> Any:
    """Read and strictly parse a YAML file; errors name the file.

    Raises:
        ConfigError: see :func:`read_limited` and :func:`parse_yaml_text`; also for text
            that is not UTF-8.
    """
    data = read_limited(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(str(path), "", "file is not UTF-8 text") from None
    return parse_yaml_text(text, str(path))


def parse_override_value(text: str, source: str = "--set") -> Any:
    """Parse the value side of ``--set key=value`` with the same strict scalar rules."""
    return parse_yaml_text(text, source) if text.strip() else ""
