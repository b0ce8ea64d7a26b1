"""Logs never carry transcript text or tokens, even at CARECUE_LOG_LEVEL=DEBUG.

websockets' own protocol parser is driven for real here, with the service's logging set up at
DEBUG. Before the fix its record of each frame came through, e.g. an agent event with the
caller's words.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from app.logging_setup import setup_logging

SECRET = "I have the tablets here and I am going to take them"


@pytest.fixture
def debug_logging(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    # after capsys: the handler writes to the captured stderr
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    setup_logging("DEBUG", json_logs=True)
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)


def test_websocket_frames_are_not_logged_at_debug(
    debug_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from websockets.frames import Frame, Opcode
    from websockets.protocol import Protocol, Side, State

    proto = Protocol(Side.SERVER, state=State.OPEN, logger=logging.getLogger("websockets.server"))
    proto.receive_data(Frame(Opcode.TEXT, SECRET.encode()).serialize(mask=True, extensions=[]))
    [frame] = [e for e in proto.events_received() if isinstance(e, Frame)]
    assert frame.data.decode() == SECRET  # the frame was really parsed
    logging.getLogger("carecue.test").debug("our own debug line")
    err = capsys.readouterr().err
    assert "our own debug line" in err  # DEBUG is on for our loggers
    assert SECRET not in err
