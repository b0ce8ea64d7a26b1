"""The wire contract: the JSON Schema from ``carecue contract --json-schema``, the events of a
real call (scripted fake models, real service and sockets), and docs/contract.md must agree."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from app.contract import EVENT_TYPES
from tests.app.service_helpers import (
    live,
    read_until,
    recv_json,
    tok,
    twilio_media,
    twilio_start,
    twilio_stop,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "contract.md"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", "contract", "--json-schema"],
        capture_output=True, text=True, timeout=120, env=env, check=True,
    ).stdout
    loaded: dict[str, Any] = json.loads(out)
    Draft202012Validator.check_schema(loaded)
    return loaded


def _errors(schema: dict[str, Any], message: dict[str, Any]) -> list[str]:
    return [e.message for e in Draft202012Validator(schema).iter_errors(message)]


def test_events_of_a_real_call_validate(schema: dict[str, Any], tmp_path: Path) -> None:
    with live(tmp_path) as s:
        with s.ws("/v1/supervisor/events", tok("supervisor")) as sup, \
                s.ws("/v1/agents/A1/events", tok("agent", "A1")) as agent:
            with s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
                tw.send(twilio_start("CA-contract", "A1"))
                tw.send(twilio_media(b"hello I need my refill", "inbound"))
                tw.send(twilio_media(b"sure let me check", "outbound"))
                tw.send(twilio_media(b"I'm terrified about my results", "inbound"))
                got = read_until(agent, lambda e: e["type"] == "nudge.created")
                nudge_id = got[-1]["data"]["nudge_id"]
                feedback = {"type": "nudge.feedback", "nudge_id": nudge_id, "action": "accepted"}
                assert _errors(schema, feedback) == []
                agent.send(json.dumps(feedback))
                got += read_until(agent, lambda e: e["type"] == "nudge.resolved")
                agent.send("{not json")
                error = recv_json(agent)
                got.append(error)
                tw.send(twilio_media(b"I want to kill myself", "inbound"))
                tw.send(twilio_media(b"FLAKY", "outbound"))  # the fake engine fails once
                got += read_until(agent, lambda e: e["type"] == "call.error")
                tw.send(twilio_media(b"OVERLOAD", "outbound"))  # the fake drops audio
                got += read_until(agent, lambda e: e["type"] == "call.recovered")
                tw.send(twilio_stop("CA-contract"))
            got += read_until(agent, lambda e: e["type"] == "call.ended")
            got += read_until(sup, lambda e: e["type"] == "call.ended")

    assert error["type"] == "error" and error["code"] == "malformed_json"
    seen = {m["type"] for m in got}
    assert seen >= set(EVENT_TYPES) | {"error"}, sorted(set(EVENT_TYPES) - seen)
    for message in got:
        assert _errors(schema, message) == [], message["type"]


def test_the_schema_has_teeth(schema: dict[str, Any]) -> None:
    good = {"type": "nudge.resolved", "seq": 3, "call_id": "C", "at": "2026-01-01T00:00:00Z",
            "data": {"nudge_id": "C:n1", "how": "accepted", "something_new": 1}}
    assert _errors(schema, good) == []  # extra data fields are additive
    for broken in (
        {**good, "type": "nudge.gone"},
        {**good, "seq": "3"},
        {**good, "data": {"nudge_id": "C:n1"}},
        {**good, "data": {"nudge_id": "C:n1", "how": "maybe"}},
        {k: v for k, v in good.items() if k != "call_id"},
        {"type": "nudge.feedback", "nudge_id": "C:n1", "action": "love"},
    ):
        assert _errors(schema, broken), broken


def _doc_event_rows() -> dict[str, str]:
    text = DOC.read_text()
    section = text.split("### Event types", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        m = re.match(r"\| `([a-z_.]+)` \|(.*)\|(.*)\|$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def test_docs_name_every_event_and_its_fields() -> None:
    rows = _doc_event_rows()
    assert set(rows) == set(EVENT_TYPES)
    for name, (data_model, _doc) in EVENT_TYPES.items():
        documented = set(re.findall(r"`([a-z_]+)`", rows[name]))
        required = set(data_model.model_fields)
        assert required <= documented, (name, sorted(required - documented))


def test_every_json_example_in_the_docs_validates(schema: dict[str, Any]) -> None:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(), flags=re.S)
    socket_types = set(EVENT_TYPES) | {"error", "nudge.feedback"}
    shown: set[str] = set()
    for block in blocks:
        message = json.loads(block)
        if message["type"] in socket_types:
            assert _errors(schema, message) == [], block
            shown.add(message["type"])
    assert shown == socket_types  # an example of every message on the sockets
