"""Scenario files: the shipped ones load and are sound; bad ones fail with file:line errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from app.practice.judge import ReplyJudge
from app.practice.scenario import ScenarioError, load_scenarios, parse_scenario
from carecue_sim.speech_synth import kokoro_voices
from nudges.playbook import load_playbook

GOOD = textwrap.dedent(
    """\
    id: tiny
    title: A tiny call
    summary: Two steps.
    caller: Ann, 60
    voice: af_heart
    start: opening
    steps:
      opening:
        patient: I'm worried about my results.
        branches:
          - {when: acknowledgement, goto: calmer}
          - {goto: upset}
      calmer:
        patient: Thank you.
        end: true
      upset:
        patient: You're not listening.
        end: true
    """
)


def test_the_shipped_scenarios_load_against_the_default_playbook_and_voices() -> None:
    pb = load_playbook()
    scenarios = load_scenarios(phrase_sets=pb.phrase_sets, voices=kokoro_voices())
    assert len(scenarios) >= 8
    for topic in ("biopsy_wait", "new_diagnosis", "grief", "billing_anger",
                  "medication_confusion", "isolation", "uncontrolled_pain", "caller_at_risk"):
        assert topic in scenarios
    assert scenarios["caller_at_risk"].protocol
    for sc in scenarios.values():
        # every scenario rewards an acknowledgement: some branch depends on what was said
        assert any(b.when for step in sc.steps.values() for b in step.branches), sc.id
        assert any(step.end for step in sc.steps.values())


def test_a_good_file_parses() -> None:
    sc = parse_scenario(GOOD, "tiny.yaml", phrase_sets=["acknowledgement"], voices=["af_heart"])
    assert sc.step("opening").branches[0].goto == "calmer"


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("goto: calmer}", "goto: calmr}"), 11, "no step 'calmr'"),
        (("{when: acknowledgement,", "{when: acknowledgment,"), 11, "no phrase set"),
        (("voice: af_heart", "voice: af_nobody"), 5, "unknown voice"),
        (("    end: true\n  upset", "    branches: [{goto: opening}]\n  upset"), 15, "a cycle"),
        (("      - {goto: upset}", "      - {when: acknowledgement, goto: upset}"), 9,
         "last branch must have no 'when'"),
        (("    patient: You're not listening.\n", ""), 17, "patient"),
        (("start: opening", "start: opening\nmood: cross"), 7, "Extra inputs"),
    ],
)
def test_bad_files_name_the_file_and_line(change: tuple[str, str], line: int,
                                          message: str) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(ScenarioError) as err:
        parse_scenario(GOOD.replace(old, new, 1), "tiny.yaml",
                       phrase_sets=["acknowledgement"], voices=["af_heart"])
    text = str(err.value)
    assert f"tiny.yaml:{line}:" in text, text
    assert message in text


def test_an_unreachable_step_and_a_bad_yaml_are_reported(tmp_path: Path) -> None:
    extra = GOOD + "  orphan:\n    patient: Hello?\n    end: true\n"
    with pytest.raises(ScenarioError, match=r"tiny.yaml:20: steps.orphan: .*cannot be reached"):
        parse_scenario(extra, "tiny.yaml")
    with pytest.raises(ScenarioError, match=r"bad.yaml:2: YAML syntax"):
        parse_scenario("id: x\n  - : [\n", "bad.yaml")
    (tmp_path / "other.yaml").write_text(GOOD)
    with pytest.raises(ScenarioError, match=r"other.yaml:1: id: must match the file name"):
        load_scenarios(tmp_path)


REPLIES = {
    "acknowledging": "That sounds really frightening, waiting eleven days with no news.",
    "transactional": "Can I take your date of birth and your hospital number, please?",
}


def test_the_branch_follows_the_playbook_judgement_phrase_only() -> None:
    """Without the encoder the judge uses the playbook's phrases and patterns (negation aware)."""
    sc = load_scenarios()["biopsy_wait"]
    judge = ReplyJudge(load_playbook())
    opening = sc.step("opening")
    assert judge.choose(opening, REPLIES["acknowledging"]).goto == "opens_up"
    assert judge.choose(opening, REPLIES["transactional"]).goto == "worry_again"
    # "I understand" alone before a transactional question is not an acknowledgement
    assert judge.choose(opening, "I understand. What's your date of birth?").goto == "worry_again"
    assert judge.choose(opening, "That is not a frightening thing at all.").goto == "worry_again"


@pytest.mark.slow
def test_the_branch_follows_the_semantic_judgement_of_the_live_matcher() -> None:
    """With the MiniLM encoder (as the service runs), an acknowledgement in the trainee's own
    words, with none of the playbook's phrases, still counts: the same semantic match that
    resolves the live nudge."""
    from models.encoder import get_encoder
    from nudges.matching import PhraseMatcher

    sc = load_scenarios()["biopsy_wait"]
    pb = load_playbook()
    semantic = ReplyJudge(pb, PhraseMatcher(get_encoder()))
    lexical = ReplyJudge(pb)
    own_words = "I can tell how anxious you are about all this."
    assert lexical.choose(sc.step("opening"), own_words).goto == "worry_again"
    choice = semantic.choose(sc.step("opening"), own_words)
    assert choice.goto == "opens_up" and choice.kind == "semantic"
    assert semantic.choose(sc.step("opening"), REPLIES["transactional"]).goto == "worry_again"
