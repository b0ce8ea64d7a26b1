"""JSON text from a socket, where every way it can be malformed is a ``ValueError``.

``json.loads`` raises ``RecursionError``, not ``ValueError``, on nesting deeper than the
interpreter's recursion limit: about a thousand brackets, well inside every message-size
limit here. A handler that catches ``ValueError`` for bad JSON would let it escape and drop
the socket with 1011 (internal error). Every socket handler parses client text with
``loads`` below, so a client's deep nesting is answered like any other malformed message.
"""

from __future__ import annotations

import json
from typing import Any


def loads(text: str | bytes) -> Any:
    """``json.loads``, with nesting too deep for the parser raised as ``ValueError``."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ValueError("JSON nested too deep") from exc
