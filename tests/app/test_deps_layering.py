"""Routes declare what they use of the service (``app.deps``); they never reach into ``app.state``.

``create_app`` keeps the service objects on ``app.state`` and ``app/deps.py`` hands them out as
typed dependencies, so a route's signature says what it needs and a test can override it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROUTE_MODULES = sorted(
    [*(ROOT / "app" / "routes").glob("*.py"), ROOT / "app" / "practice" / "routes.py"]
)
STATE = re.compile(r"\bapp\.state\b|getattr\(\s*\w+\.app\b")


def test_route_modules_take_service_objects_from_app_deps() -> None:
    assert len(ROUTE_MODULES) > 5  # the glob found the routes
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in ROUTE_MODULES
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if STATE.search(line)
    ]
    assert offenders == []
