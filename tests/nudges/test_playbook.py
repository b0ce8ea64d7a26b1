"""Playbook schema: the default loads, round-trips, and bad files get located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from nudges.playbook import (
    DEFAULT_PLAYBOOK_PATH,
    PlaybookError,
    dump_playbook,
    load_playbook,
    parse_playbook,
)

REQUIRED_RULES = {
    "acknowledge_concern",
    "validate_feelings",
    "let_them_finish",
    "slow_down",
    "offer_support_group",
    "offer_counselling",
    "pain_triage",
    "emergency_protocol",
    "self_harm_protocol",
    "safety_check_in",
    "positive_note",
}


def test_default_playbook_covers_the_required_rules() -> None:
    pb = load_playbook()
    assert {r.id for r in pb.rules} >= REQUIRED_RULES
    for rule_id in ("emergency_protocol", "self_harm_protocol"):
        protocol = pb.rule(rule_id)
        assert protocol.priority == "urgent" and protocol.escalate
    soft = pb.rule("safety_check_in")
    assert soft.priority == "suggest" and not soft.escalate
    # every coaching rule waits while a protocol is on screen
    assert all(r.hold_during_crisis for r in pb.rules if r.priority != "urgent")
    assert pb.rule("positive_note").max_per_call == 1
    assert all(r.suggestions for r in pb.rules)


def test_default_playbook_round_trips_through_yaml() -> None:
    pb = load_playbook()
    assert parse_playbook(dump_playbook(pb)) == pb
    assert load_playbook(DEFAULT_PLAYBOOK_PATH) == pb


def errors_of(text: str) -> list[str]:
    with pytest.raises(PlaybookError) as info:
        parse_playbook(text, source="pb.yaml")
    return str(info.value).splitlines()[1:]


GOOD_RULE = """\
name: t
rules:
  - id: ok
    title: Fine
    suggestions: [hello]
    trigger: {said: {phrases: [hi]}}
"""


def test_minimal_playbook_is_valid() -> None:
    pb = parse_playbook(GOOD_RULE)
    rule = pb.rule("ok")
    assert (rule.priority, rule.cooldown_s, rule.max_per_call) == ("suggest", 60.0, 3)


def test_each_problem_is_reported_with_its_line() -> None:
    text = """\
name: t
rules:
  - id: a
    title: A
    suggestions: [x]
    priority: loud
    trigger:
      any:
        - signal: {name: distress, above: 1.5}
        - said: {patterns: ["(unclosed"]}
        - shout: {phrases: [x]}
        - signal: {name: happiness, above: 0.5}
    cooldown_s: -1
  - id: Bad Id
    title: B
    suggestions: []
    trigger: {talk: {measure: silence}}
"""
    assert errors_of(text) == [
        "pb.yaml:6: rules[0].priority: Input should be 'info', 'suggest' or 'urgent'",
        "pb.yaml:9: rules[0].trigger.any[0].signal.above: Input should be less than or equal to 1",
        "pb.yaml:10: rules[0].trigger.any[1].said.patterns[0]: invalid regular expression "
        "'(unclosed': missing ), unterminated subpattern at position 0",
        "pb.yaml:11: rules[0].trigger.any[2]: a trigger needs exactly one of: "
        "all, any, signal, said, not_said, talk",
        "pb.yaml:12: rules[0].trigger.any[3].signal: unknown signal 'happiness'; expected one of "
        "distress, fear, sadness, frustration, confusion, isolation, pain, gratitude, crisis, "
        "distressed, self_harm, emergency, safety_check, caller_at_risk, someone_else_at_risk",
        "pb.yaml:13: rules[0].cooldown_s: Input should be greater than or equal to 0",
        "pb.yaml:14: rules[1].id: String should match pattern '^[a-z][a-z0-9_]*$'",
        "pb.yaml:16: rules[1].suggestions: "
        "List should have at least 1 item after validation, not 0",
        "pb.yaml:17: rules[1].trigger.talk: measure 'silence' needs 'above'",
    ]


def test_reference_problems_are_located() -> None:
    text = (
        GOOD_RULE
        + """\
  - id: ok
    title: Again
    suggestions: [x]
    trigger:
      not_said:
        after: {signal: {name: distressed}}
        said: {use: acknowledgment}
    done_when:
      agent_said: {}
"""
    )
    assert errors_of(text) == [
        "pb.yaml:7: rules[1].id: duplicate rule id 'ok'",
        "pb.yaml:13: rules[1].trigger.not_said.said.use: unknown phrase set 'acknowledgment' "
        "(known: none defined)",
        "pb.yaml:15: rules[1].done_when.agent_said: "
        "needs 'use', phrases, patterns, examples or red_flag",
    ]


def test_unknown_fields_and_yaml_syntax_are_located() -> None:
    assert errors_of(GOOD_RULE + "    cooldown: 30\n") == [
        "pb.yaml:7: rules[0].cooldown: Extra inputs are not permitted"
    ]
    assert errors_of("name: t\nrules:\n  - id: [unclosed\n") == [
        "pb.yaml:4: YAML syntax: expected ',' or ']', but got '<stream end>'"
    ]
    assert errors_of("- just a list\n") == [
        "pb.yaml:1: a playbook is a mapping with 'name' and 'rules'"
    ]


def test_flag_and_numeric_signals_are_checked() -> None:
    base = GOOD_RULE.replace("{said: {phrases: [hi]}}", "{signal: %s}")
    assert errors_of(base % "{name: distressed, above: 0.5}") == [
        "pb.yaml:6: rules[0].trigger.signal: 'distressed' is a flag: give no "
        "above/below/trend/fell_by"
    ]
    assert errors_of(base % "{name: fear}") == [
        "pb.yaml:6: rules[0].trigger.signal: signal 'fear' needs above, below, trend or fell_by"
    ]
    # crisis is both a flag and a concern score
    parse_playbook(base % "{name: crisis}")
    parse_playbook(base % "{name: crisis, above: 0.8}")


def test_missing_file_is_a_playbook_error(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="cannot read file"):
        load_playbook(tmp_path / "nope.yaml")
