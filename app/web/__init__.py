"""The agent console (``/agent``) and supervisor wallboard (``/supervisor``).

Plain HTML, CSS and JavaScript in ``static/``, no build step; ``app.web.routes`` serves them.
"""

from __future__ import annotations

from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent / "static"
