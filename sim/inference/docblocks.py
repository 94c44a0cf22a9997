"""A generated block of a document: the text between ``<!-- BEGIN generated:NAME ... -->``
and ``<!-- END generated:NAME -->``, rewritten from the code by a command (the shipped
calibration's report, the break-even tables) and compared by the tests.
"""

from __future__ import annotations

import re
from pathlib import Path

BLOCK_RE = re.compile(r"(<!-- BEGIN generated:(?P<name>[\w-]+)[^>]*-->\n)(?P<body>.*?)(<!-- END generated:(?P=name) -->)", re.S)
"""A generated block: groups 1 (the BEGIN line), ``name``, ``body`` and 4 (the END marker)."""


def write_block(body: str, root: Path, doc: str, block: str, check: bool = False) -> bool:
    """Replace the generated block ``block`` of ``doc`` with ``body``; True if it differed.

    The document is rewritten atomically (:func:`sim.runner.storage.atomic_write_text`):
    a failed write (a full disk, a file-size limit) leaves it as it was.

    Args:
        body: The block's new text (ends with a newline).
        root: The repository holding ``doc``.
        doc: The document, relative to ``root``.
        block: The block's name (``<!-- BEGIN generated:NAME ... -->``).
        check: Only compare: leave the file as it is.

    Raises:
        ValueError: the document is not UTF-8 text, lacks the block's markers, or has
            either marker more than once (naming the document).
        OSError: the document cannot be read.
        sim.errors.WriteError: it cannot be written (naming it).
    """
    from sim.runner.storage import atomic_write_text

    path = root / doc
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{doc}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    begins = len(re.findall(rf"<!-- BEGIN generated:{re.escape(block)}[\s>]", text))
    ends = text.count(f"<!-- END generated:{block} -->")
    found = [m for m in BLOCK_RE.finditer(text) if m.group("name") == block]
    if begins != 1 or ends != 1 or len(found) != 1:
        raise ValueError(f"{doc}: needs exactly one <!-- BEGIN generated:{block} --> ... <!-- END generated:{block} --> "
                         f"(found {begins} BEGIN and {ends} END)")
    m = found[0]
    new = text[: m.start()] + m.group(1) + body + m.group(4) + text[m.end():]
    if new != text and not check:
        atomic_write_text(path, new)
    return new != text
