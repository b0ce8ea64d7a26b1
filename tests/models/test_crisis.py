"""The reviewed crisis pattern list: recall on red flags, and deliberate negation handling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from models.crisis import clause_spans, detect
from models.datasets import load_concerns

FLAGGED = [
    # suicidal talk, including hedges and indirect phrasing
    "I want to kill myself.",
    "Honestly, I guess I've thought about ending it.",
    "I don't want to be alive anymore.",
    "Everyone would be better off without me.",
    "I can't stop thinking about killing myself.",  # "can't stop" is not a negation
    "I'm not sure I want to live anymore.",  # "not sure" is not a denial
    "I don't think I can keep myself safe tonight.",
    "sometimes i think about suicide",  # ASR output: no capitals, no punctuation
    "I've been cutting myself again.",
    # medical red flags, first and third person
    "There's a crushing pressure in my chest.",
    "my chest is so tight and I'm sweating",
    "I can't breathe properly.",
    "My husband's face is drooping and he's slurring his words.",
    "She's having a seizure and it won't stop.",
    "I took a whole bottle of my pills an hour ago.",
    "He overdosed and he's barely breathing.",
    "My dad collapsed and he's not responding.",
    "I have the worst headache of my life.",
    "I'm coughing up blood.",
    # negation does not reach across a contrastive join
    "I'm not suicidal, but I can't breathe.",
    "No, I'm not in pain, but my chest feels tight.",
    # the euphemism stands where no mix-up is told with it
    "I've done something silly, I took all my co-codamol at lunchtime.",
    "I did something stupid earlier and took a lot of my tablets.",
    # the counterparts of explained-away phrasings below, and risk that a looser rule for
    # history, screening answers, mix-ups or everyday plans once let through (a review)
    "I've been killing myself slowly with these pills.",
    "I've been killing myself working out how to do it.",
    "I've said my goodbyes.",
    "I won't be here tomorrow.",
    "I tried to end it years ago and I've got the rope in the shed.",
    "I self harmed when I was fifteen and the urge to cut is back and I can't fight it.",
    "He had a stroke years ago and his face is drooping and he can't lift his arm.",
    "The nurse asked if I'd hurt myself and I said no but I have.",
    "When they asked if I had thoughts of suicide I said no and that was a lie.",
    "I've done something daft, I've taken both my insulin pens.",
    "I did something stupid twice this week, I took loads of pills.",
    "I'm in hospital and I won't be here tomorrow, I've saved my tablets.",
    "I'm staying at a hotel tonight, I've said my goodbyes, no one will find me.",
    "After my last chemo session I said my goodbyes, I'm not doing this anymore.",
]

NOT_FLAGGED = [
    "I'm not suicidal, I just need my repeat prescription.",
    "I don't want to hurt myself, I just want to change my pharmacy.",
    "No, I've never thought about killing myself.",
    "I'm not having chest pain, I'm calling about my appointment.",
    "No chest pain, just a cough.",
    "I would never hurt myself.",
    "I don't have any thoughts of suicide.",
    # idioms and history that are not acute red flags
    "My back is killing me.",
    "My dad died of a heart attack at my age.",
    "My son died of an overdose two years ago.",
    "I'm scared I'll have another seizure at work.",
    "Can I book an appointment for Tuesday?",
    "",
    # a mix-up told with "done something silly" (the scripted medication_confusion call)
    "I think I might have taken both this morning, and now I'm worried I've done something silly.",
    "I've done something daft, I took the wrong tablets from the box.",
    "i did something stupid i took the night ones instead of the morning ones",
    # effort, everyday plans
    "I've been killing myself at the gym before the wedding.",
    "I've decided, tonight I'm stopping smoking for good.",
]


# Issue 9, sixth round: a relative's (or one's own) medical event told as past, dated close to
# its words, or with the person already in intensive care, is not an emergency now; "odd"
# is not "OD'd"; "can't swallow his tablets whole" is not a closing throat. The same words
# with a sign that it is happening now still raise the flag.
KINDS = [
    ("My wife gets the odd nosebleed on warfarin, is that normal?", ()),
    ("I feel a bit odd since the new tablets.", ()),
    ("i od'd on my tablets before i rang", ("self_harm",)),
    ("I ODed last night.", ("self_harm",)),
    ("Dad can't swallow his tablets whole any more, can he have them crushed?", ()),
    ("she can't swallow and her lips are swelling up", ("emergency",)),
    ("My husband had chest pains last week and they said it was angina.", ()),
    ("He had chest pain a fortnight ago and they gave him a spray.", ()),
    ("He had chest pain last week and now he's got it again, crushing.", ("emergency",)),
    ("My mum collapsed at home last week, she's waiting for a pacemaker.", ()),
    ("My partner's in intensive care after a cardiac arrest, can I visit?", ()),
    # another event is dated: the breathlessness is now (a clot after surgery)
    (
        "suddenly can't breathe properly and my heart's racing, i had surgery last week",
        ("emergency",),
    ),
    # everyday senses of seizure, collapse, chest and unresponsiveness words
    ("I've got my hearing aid fitting appointment on Tuesday.", ()),
    ("The new prosthetic leg is ill-fitting and rubs.", ()),
    ("he's been fitting for five minutes", ("emergency",)),
    ("he's fitting that's the third one today", ("emergency",)),
    ("I was passing out leaflets at the clinic when it started to rain.", ()),
    ("he keeps passing out", ("emergency",)),
    ("my daughter's crushing on a boy at school and won't eat", ()),
    ("crushing weight on my chest", ("emergency",)),
    ("the baby's floppy and won't feed", ("emergency",)),
    # an act dated years back, right beside its words, is history; another act is not
    ("Years ago I took an overdose, I'm calling about my smear test.", ()),
    ("I took an overdose when I was nineteen, the new doctor asked about it.", ()),
    ("years ago I tried to hang myself and I want to kill myself", ("self_harm",)),
    ("I tried to kill myself at 19 and I'm going to do it properly tonight", ("self_harm",)),
    # a self-harm attempt last week is still risk (if not an emergency now)
    ("I took an overdose last week.", ("self_harm",)),
    # Someone else's self-harm told with their care is background, not the caller's risk; the
    # same care with an act now, a threat, a state of being suicidal, or the caller's own risk
    # still escalates.
    ("My son's been seeing a CAMHS worker for his self-harm, can I get a carer's assessment?", ()),
    (
        "My son's been seeing a CAMHS worker for his self-harm and he's done it again tonight.",
        ("self_harm",),
    ),
    (
        "my partner is in treatment for self-harm and i want to know what to do with the "
        "medicines at home",
        (),
    ),
    # an act going on, or the self-harm with nobody's name on it, still flags
    ("My son is self-harming and he's on a waiting list.", ("self_harm",)),
    ("My son's self harm has got really bad and CAMHS won't see him for months.", ("self_harm",)),
    ("Since his death the self harm has come back, I'm seeing a counsellor.", ("self_harm",)),
    (
        "my partner is in treatment for self harming and she's cut herself, there's blood "
        "everywhere",
        ("self_harm", "emergency"),
    ),
    (
        "My husband's psychiatrist is treating his suicidal thoughts, can I claim carer's "
        "allowance?",
        (),
    ),
    (
        "My husband's psychiatrist is treating his suicidal thoughts. He's just rung to say "
        "he's on the bridge.",
        ("self_harm",),
    ),
    ("Her therapist says her suicidal thoughts have eased, so can she go back to college?", ()),
    (
        "Her therapist says her suicidal thoughts have eased, but she's texted me goodbye.",
        ("self_harm",),
    ),
    ("my wife is suicidal and she's on a waiting list for therapy", ("self_harm",)),
    ("my son is self harming", ("self_harm",)),
    # the caller's own risk beside a relative's care: the caller's words raise the flag
    (
        "My son's in therapy for his self-harm and I can't see the point in living anymore.",
        ("self_harm",),
    ),
    (
        "my daughter's under the mental health team for self harm and I've been doing it too",
        ("self_harm",),
    ),
    ("My daughter found out about my self-harm and she's in counselling now.", ("self_harm",)),
    # someone else's threat or attempt, told by the caller: a life at risk now
    ("My husband says he's going to kill himself tonight.", ("self_harm",)),
    ("he said he'd kill himself if she left him", ("self_harm",)),
    ("my son keeps talking about hanging himself", ("self_harm",)),
    ("She texted me that she's going to end her life.", ("self_harm",)),
    # ...and the same words as effort, accident, hyperbole, denial or history
    ("My dad's going to kill himself on that ladder, can you tell him?", ()),
    ("she's killing herself at work since the diagnosis", ()),
    ("he'll kill himself if he keeps smoking like that", ()),
    ("she says she's not thinking of hurting herself, the school just worried", ()),
    ("my brother killed himself last year and I can't sleep", ()),
    ("my son tried to kill himself two years ago and he's doing well", ()),
    # bleeding that will not stop, in either word order
    ("She's cut her hand and it won't stop bleeding.", ("emergency",)),
    ("there's a gash on his head and I can't stop the bleeding", ("emergency",)),
    ("my gums bleed a bit when I brush", ()),
    # stockpiling medicines: kept over time, hidden, or enough
    ("I've been saving up my tablets for weeks in case it all gets too much.", ("self_harm",)),
    # a relative's threat with a place or a date is not an accident on a ladder
    ("He tried to kill himself on the railway line last night.", ("self_harm",)),
    ("He says he'll kill himself if she doesn't come back.", ("self_harm",)),
    # an emergency after an old event and a return to work
    (
        "My dad had a heart attack in March, he went back to work again and now he's collapsed"
        " and isn't breathing.",
        ("emergency",),
    ),
    ("I won't be around for a couple of days, maybe ever.", ("self_harm",)),
    ("I took all my regular tablets in one go.", ("self_harm", "emergency")),
    ("My gums won't stop bleeding when I brush.", ()),
    ("I've been stashing my sleeping tablets since Christmas.", ("self_harm",)),
    ("I've kept back two weeks of my painkillers, nobody knows.", ("self_harm",)),
    ("I've been collecting my antidepressants in a tin in the wardrobe.", ("self_harm",)),
    # ...and medicines kept to hand back or for an ordinary reason
    ("I've been saving the old tablets for weeks to take back to the chemist.", ()),
    ("I've kept back a month of my tablets for the trip to see my sister.", ()),
    ("I'm hiding my pills in the drawer because the side effects are awful.", ()),
    # a screening question answered no, and the same question answered otherwise
    ("I asked my GP for help because I want to kill myself and she said no.", ("self_harm",)),
    ("The GP asked me why I want to kill myself and I said I don't know.", ("self_harm",)),
    ("They asked if I'd hurt myself and I said no but I've got the pills ready.", ("self_harm",)),
    ("The practice nurse asked about suicide and I said no, it's never been that.", ()),
    ("On the mood form I ticked never for the one about hurting myself.", ()),
    ("She asked if I'd thought of ending my life and I told her honestly I'm not there.", ()),
    ("The nurse asked about suicide and I said yes, most days.", ("self_harm",)),
    ("They asked if I'd thought about killing myself and I couldn't answer.", ("self_harm",)),
    # effort, not intent, and intent said the same way
    ("I've been killing myself cleaning the house before the visit.", ()),
    ("I keep thinking about killing myself getting it over with.", ("self_harm",)),
    # asking what would be lethal, being found, stopping treatment to die
    ("How many of my sleeping tablets would it take so I don't wake up?", ("self_harm",)),
    ("what amount of morphine would stop my heart", ("self_harm",)),
    ("I've left a note on the door for when they find me.", ("self_harm",)),
    ("I stopped my insulin deliberately so it'll all be over.", ("self_harm",)),
    (
        "If someone swallowed a whole box of sertraline, would it be quick?",
        ("self_harm", "emergency"),
    ),
    ("How long would it take after swallowing them all, I need to know.", ("self_harm",)),
    ("I've cut it again, not deep, I just need some dressings.", ("self_harm",)),
    ("I've posted my goodbye on Facebook and turned my phone off.", ("self_harm",)),
    ("I won't be a burden to anyone for much longer.", ("self_harm",)),
    ("I gave my rings to my granddaughter last week, I won't need them.", ("self_harm",)),
    ("If you took all the leaflets home, would that be enough for the group?", ()),
    ("If I had all my sertraline in the morning, would that be enough to last the day?", ()),
    ("I've cut my leg again on the garden fence, can the nurse dress it?", ()),
    ("How long would it take after taking them all for the rash to clear?", ()),
    # ...and the same words in ordinary questions and fears
    ("How many days would it take for my repeat to come through?", ()),
    ("How much insulin would it take to bring my sugar down from twenty?", ()),
    ("Which tablets would do it better for my back, the naproxen?", ()),
    ("I'm scared nobody will find me if I fall in the night.", ()),
    ("I stopped my statins deliberately so it'll stop the muscle pain.", ()),
    # an illness happening again
    ("He had a heart attack last year and it's started again.", ("emergency",)),
    ("She had a stroke last year and now her face has started drooping again.", ("emergency",)),
    # Farewell, finality and plan words with an ordinary, bounded reason in the same clause
    # (a span or a return, a named event, a day's regimen, a product not swallowed, a
    # practical purpose for rope) are call business; the same words without it still
    # escalate.
    ("I won't be around for two weeks, we're off to Crete, can I get my repeat early?", ()),
    ("I won't be around for my next appointment.", ("self_harm",)),
    ("Ring me on Wednesday instead, I won't be here on Tuesday, I'm at my niece's wedding.", ()),
    ("Ring me on Wednesday instead, I won't be here on Tuesday.", ("self_harm",)),
    ("I won't be around until the 14th, I'm staying with my sister.", ()),
    ("I won't be around for two weeks or ever again.", ("self_harm",)),
    ("Can you feed the cat when I'm gone on Friday?", ("self_harm",)),
    ("Can I take all my evening tablets together or should I space them out?", ()),
    ("I've taken all my tablets.", ("self_harm", "emergency")),
    ("I took all my evening tablets and the whole box of painkillers.", ("self_harm", "emergency")),
    ("I've used up the whole box of plasters on his knees already.", ()),
    ("I've used up the whole box of sleeping tablets.", ("self_harm",)),
    ("We bought rope to tie the tarpaulin over the woodpile.", ()),
    ("I bought rope to tie round the beam in the garage.", ("self_harm",)),
    ("I wanted to say goodbye to the district nurse, she's been wonderful with Dad.", ()),
    ("I just rang to say goodbye to you all.", ("self_harm",)),
    ("I just wanted to speak to you one last time before we change surgeries.", ()),
    ("I just wanted to speak to you one last time.", ("self_harm",)),
    ("Cancel my appointments, I won't need them.", ("self_harm",)),
    ("I've picked the date to give up smoking, the first of the month.", ()),
    ("I've picked the date.", ("self_harm",)),
    # someone else's wish to die or self-harm, told as it is
    ("my mum has been cutting herself again", ("self_harm",)),
    ("I think my brother wants to die.", ("self_harm",)),
    ("She wants to die at home, not in the hospice.", ()),
    ("He keeps cutting himself shaving with that old razor.", ()),
    ("She's under CAMHS for harming herself and doing well now.", ()),
    # a date right beside the words makes them history, even when its span takes in their
    # last word; a statement about now after the date does not
    ("My son was harming himself years ago but he is fine now.", ()),
    ("I tried to kill myself years ago and I want to kill myself.", ("self_harm",)),
    ("I had a bad patch ten years back and hurt myself, been fine since.", ()),
]


@pytest.mark.parametrize(("text", "kinds"), KINDS)
def test_past_events_and_lookalike_words_raise_only_what_is_happening(
    text: str, kinds: tuple[str, ...]
) -> None:
    assert tuple(k for k in detect(text).kinds if k != "safety_check") == kinds


@pytest.mark.parametrize("text", FLAGGED)
def test_red_flags_are_caught(text: str) -> None:
    result = detect(text)
    assert result.flagged, result.matches
    hit = result.first()
    assert hit is not None and hit.phrase and hit.phrase in text
    assert hit.clause in text


@pytest.mark.parametrize("text", NOT_FLAGGED)
def test_denials_idioms_and_routine_requests_are_not_flagged(text: str) -> None:
    assert not detect(text).flagged


def test_denial_is_reported_as_negated_not_dropped() -> None:
    result = detect("I'm not suicidal, I just need my repeat prescription.")
    assert result.negated_only
    assert [m.phrase for m in result.matches] == ["suicidal"]
    assert all(m.negated for m in result.matches)


def test_curly_apostrophes_and_case() -> None:
    assert detect("I DON\u2019T WANT TO LIVE ANYMORE").flagged
    assert not detect("I\u2019m NOT suicidal").flagged


# What a review found on the first version of the eighth round's changes: each flagged at
# 60eb17b and not after it, or the other way round.
REVIEWED = [
    # a denial reaches no further than its own phrase
    ("i wasnt joking, im going to kill myself tonight", True),
    ("I cant cope, gonna kill myself.", True),
    ("i havent slept, i want to die", True),
    ("Nobody listens, I cant do this, I'm going to overdose.", True),
    # a statement about now after a dated act
    ("I tried to kill myself years ago and I feel exactly the same way.", True),
    ("I tried to kill myself years ago and I'm scared I'll do it.", True),
    ("I cut myself years ago and the urges are really strong.", True),
    ("I tried to kill myself years ago and I've kept the pills.", True),
    # not needing things for long
    ("I won't need them much longer.", True),
    ("I won't need them for much longer.", True),
    ("I won't need the tablets, it'll all be over soon.", True),
    ("Cancel my appointment, I won't need the appointment, I've made my decision.", True),
    # someone else's self-harm, and what only looks like it
    ("My daughter has been cutting herself on her arms.", True),
    ("My son's been cutting himself with the razor blades.", True),
    ("My husband wants to die with the pills he's been saving.", True),
    ("My son is on the CAMHS waiting list and wants to die.", True),
    ("My daughter's in therapy and keeps harming herself.", True),
    ("He's cutting himself off from everyone.", False),
    ("My husband was cutting himself some cake.", False),
    ("I don't want to be here no more than an hour.", False),
    ("I'm gonna take 'em all tonight", True),
    # a threat to the caller and to himself
    ("he says he wants to kill me and then himself", True),
    # "won't be needing it" said of someone who has died, or of "we", is call business
    ("she died on tuesday and she wont be needing any of it anymore", False),
    ("she died on wednesday so we wont be needing it can you cancel it", False),
    ("They won't have to put up with me much longer.", True),
]


# Hopelessness said as no point in going on raises the gentle safety check; the same words
# about a treatment or an appointment do not.
NO_POINT = [
    ("theres no point going on", True),
    ("There's no point in me being here anymore.", True),
    ("There's no point in me being here for this appointment if the doctor is off.", False),
    ("No point going on with the physio if it hurts.", False),
]


@pytest.mark.parametrize(("text", "soft"), NO_POINT)
def test_no_point_going_on_is_a_gentle_safety_check(text: str, soft: bool) -> None:
    assert detect(text).kinds == (("safety_check",) if soft else ())


def test_no_point_in_me_being_alive_is_self_harm() -> None:
    # like "no point living": the caller's life itself, not going on
    assert "self_harm" in detect("I feel there's no point me being alive.").kinds


@pytest.mark.parametrize(("text", "flagged"), REVIEWED)
def test_reviewed_cases(text: str, flagged: bool) -> None:
    assert ("self_harm" in detect(text).kinds) is flagged


# Absence told with a time away before it, and absence for ever beside an everyday reason
# (issue 9, ninth round): (text, self-harm flag?)
ABSENCE = [
    ("I'm flying out for work for a month and I won't be around for my bloods", False),
    ("We're away for a fortnight from Saturday, I won't be here for the nurse visit", False),
    ("I'm in hospital for three nights so I won't be around on Tuesday", False),
    ("For a month I've planned it and I won't be around for my bloods", True),
    ("I'm going away for good and I won't be around for my bloods", True),
    ("I won't be around for my next appointment", True),
    ("we're moving to Spain and I won't be around much longer", True),
    ("I'm going abroad for a week so I won't be around", False),
    ("we're moving to Spain on Tuesday so I won't be around for the review", False),
]


@pytest.mark.parametrize(("text", "flagged"), ABSENCE)
def test_a_bounded_time_away_explains_absence_and_for_ever_does_not(
    text: str, flagged: bool
) -> None:
    assert ("self_harm" in detect(text).kinds) is flagged


WILL_TO_LIVE = [
    ("I've lost the will to live since the diagnosis", True),
    ("I haven't got the will to live anymore", True),
    ("honestly this hold music, I'm losing the will to live", False),
    ("three forms for one blood test, I'm losing the will to live with this paperwork", False),
    ("I haven't lost the will to live, I just want the pain to stop", False),
]


@pytest.mark.parametrize(("text", "soft"), WILL_TO_LIVE)
def test_losing_the_will_to_live_is_a_gentle_check_unless_said_of_tedium(
    text: str, soft: bool
) -> None:
    assert detect(text).kinds == (("safety_check",) if soft else ())


# Emergencies told as over or as a habit, from the third-party training rows, and their
# urgent twins (issue 9, ninth round): (text, emergency flag?)
NOT_NOW = [
    ("He's epileptic and had a seizure at school yesterday. It stopped after a minute and he's"
     " fine today.", False),
    ("He had a seizure yesterday. It stopped, but now he's having another one.", True),
    ("She had a seizure last night and she's still not making sense.", True),
    ("He took all his tablets yesterday and he's fine now.", True),
    ("She had a choking episode at lunch yesterday. We cleared it and she's fine.", False),
    ("She's choking on a sweet and can't get it up.", True),
    ("My grandad gets breathless walking up the stairs.", False),
    ("I get breathless walking to the door today and my chest is tight.", True),
    ("He's breathless and can't finish a sentence.", True),
    ("she had a heart attack last year, can she start swimming again", False),
    ("she had a heart attack last year and I think it's happening again", True),
    ("He's on chemo and they told me to watch his temperature. It's 37.2.", False),
    ("He's on chemo, they told me to watch his temperature and it's 38.4.", True),
    ("He's on chemo and he's shivering with a temperature.", True),
    ("Is it safe to take all my morning tablets at once?", False),
    ("Is it safe to take all my morning tablets at once with the whole box?", True),
    ("I took all my morning tablets at once and the whole box of paracetamol.", True),
]


@pytest.mark.parametrize(("text", "urgent"), NOT_NOW)
def test_an_emergency_over_or_told_as_a_habit_is_not_happening_now(
    text: str, urgent: bool
) -> None:
    assert ("emergency" in detect(text).kinds) is urgent


# A review of the ninth round's first version (helper session, read-only) found these; each
# was wrong in that version: (text, kinds raised)
REVIEWED_9 = [
    ("i cant sleep and i want to die", ("self_harm",)),  # the denial reached across "and i"
    ("i can't sleep and i've lost the will to live", ("safety_check",)),
    ("she had a seizure last night and she's not back to normal", ("emergency",)),
    ("he started fitting last night and it hasn't stopped after an hour", ("emergency",)),
    ("he had a fit last night and he's well out of it", ("emergency",)),
    ("my son had a seizure last night. i'm okay, but he's not woken up properly", ("emergency",)),
    ("he had a seizure yesterday and he's fine but his breathing sounds awful", ("emergency",)),
    ("my dad's getting really short of breath and he's gone very pale", ("emergency",)),
    ("im getting so breathless i can hardly talk", ("emergency",)),
    ("he's on chemo, they said check his temperature and it's thirty eight point five",
     ("emergency",)),
    ("he's on chemo, they said check his temperature and it's 100.4", ("emergency",)),
    ("he's on chemo, they said take his temperature, it's gone up and he feels really hot",
     ("emergency",)),
    ("she had a seizure in march and it's starting again", ("emergency",)),
    ("i was in hospital for two weeks after my overdose and i wont be here by christmas",
     ("self_harm",)),
    ("i'm staying at a hotel for one night and i won't be around after that", ("self_harm",)),
    ("i was away for a week at my sisters and now i wont be around for the kids", ("self_harm",)),
    ("ive lost my will to live", ("safety_check",)),
    ("i've lost all will to live", ("safety_check",)),
    ("i lie in bed all day, i've lost the will to live", ("safety_check",)),
    ("i cant even answer the phone, ive lost the will to live", ("safety_check",)),
    ("she took a whole packet of paracetamol two days ago and she's fine now", ("emergency",)),
    ("im moving to leeds so i wont be around here anymore", ()),
    ("is it alright if i take all my morning tablets at once", ()),
    ("I always take all my morning tablets at once, is that ok?", ()),
]


# Farewells and plans from the left-out training rows that nothing raised, and ordinary twins
# written beside them (issue 9, ninth round): (text, self-harm flag?)
LEFT_OUT_9 = [
    ("I want everything in order, so nobody has to deal with it after I'm gone.", True),
    ("after I'm gone on holiday can my husband collect it", False),
    ("Thank you for being kind to me. I won't be ringing again. Take care of yourself.", True),
    ("the results came so I won't be ringing again, thanks", False),
    ("you've been useless, I won't be ringing again, goodbye", False),
    ("Thanks for everything, I won't be ringing again as I'm moving practice", False),
    ("I'm building up enough to make sure it works this time.", True),
    ("can you make sure it works this time", False),
    ("the burns on my wrist need dressing, I did them with a lighter", True),
    ("I burned myself on the oven, can I get a dressing", False),
]


# A second review (the policy and the left-out patterns) found these: (text, self-harm flag?)
REVIEWED_10 = [
    ("I tried to hang myself in 2019. I've bought another rope.", True),
    ("i tried to kill myself two years ago and lately im getting the same thoughts", True),
    ("my notes still mention a suicide attempt from 2009, can that be updated?", False),
    ("thanks for listening to me, I won't be phoning again.", True),
    ("I'm in the hospice now. Can you make sure my wife gets the repeat prescription after I'm"
     " gone", False),
    ("once i'm gone who do they ring to certify the death", False),
    ("once im gone upstairs can you ring back", False),
    ("once I'm gone for good they'll be fine", True),
    ("thank you for being so lovely. i wont be ringing again now that my mum has passed. take"
     " care of yourself", False),
    ("I won't be ringing again, my daughter will take over my calls. Bye bye.", False),
    ("thanks for the visit um you wont see me again cause the dressing nurse is doing it", False),
    ("burns on my wrist from the steam, did it draining the pasta", False),
    ("I did it with a matchstick model kit", False),
    ("ive been burning my arms with a lighter", True),
    ("we've got enough embryos to make sure it works this time", False),
    ("I've got enough of my dad's tablets to make sure it works this time", True),
]


# Issue 9, tenth round: risk the shipped system missed in blind rows, said in other words
# than those rows', and the ordinary sentences each new pattern must leave alone.
# (text, self-harm flag?)
BLIND_10 = [
    ("i took like twenty five of my sertraline last night", True),
    ("I've swallowed most of my citalopram, about a month of it", True),
    ("I took a handful of my co-codamol with a bottle of wine", True),
    ("I took my whole prescription to the pharmacy to check it", False),
    ("I've taken twenty years of statins without a problem", False),
    ("I took forty milligrams of omeprazole this morning", False),
    ("I've taken about thirty paracetamol over the last week for my tooth", False),
    ("I accidentally took twenty of my vitamin tablets, my grandson mixed the pots", False),
    ("i took like thirty pictures of the rash", False),
    ("I injected all my insulin pens, I wanted it all over with", True),
    ("I just wanted it over with so I had the operation done privately", False),
    ("I just wanted to not wake up", True),
    ("they pumped my stomach in A&E after what I took on Friday", True),
    ("can I drive after what I took for my hay fever this morning", False),
    ("I tried something really stupid at the weekend", True),
    ("I tried something stupid with my hair dye and now my scalp is burning", False),
    ("I've been doing some cutting on my arms again", True),
    ("I held a lighter to my wrist last night", True),
    ("how many would you need to take before it stops your heart", True),
    ("before it stops your heart from racing, how much propranolol do I take", False),
    ("what amount would be enough so a person wouldn't wake up", True),
    ("is the old quarry high enough that a fall would do it", True),
    ("I keep standing on the bridge thinking about the drop", True),
    ("thinking about the drop in my blood pressure, should I stop the ramipril", False),
    ("does my life insurance still pay out if it wasn't an accident", True),
    ("the travel insurance won't pay out if it wasn't an accident they said about my fall", False),
    ("does the insurance cover it if I do it myself, the wallpapering I mean", False),
    ("I don't want it to be my daughter who finds me", True),
    ("I'd rather it was a professional who found the leak", False),
    ("if she rings tell her I'm sorry and none of it was her fault", True),
    ("tell her none of this was her fault, mum fell on her own", False),
    ("I've worked out the how and the where now", True),
    ("I've worked out the how and when of getting the kids to school", False),
    ("you won't need to put up with me after Sunday", True),
    ("nobody's going to have to worry about me after today", True),
    ("my son won't have to drive over for me much longer", True),
    ("just make sure the cat is looked after because I won't be", True),
    ("don't worry, that won't be a problem for anyone for much longer", True),
    ("don't worry, I won't hurt myself", False),
    ("I take all of my tablets together with breakfast, is that alright?", False),
    ("they said at pre op I'm to stop taking everything from tonight", False),
    ("I had the colonoscopy without sedation because I just wanted it to be over", False),
    ("I took the afternoon off for the scan because I wanted it over with", False),
    ("I took a zopiclone because I wanted to not wake up at 4am again", False),
    ("I took all the pills because I wanted it to be over", True),
    ("i swallowed them because i wanted to not wake up", True),
]


# A review of the tenth round's first version (a helper session that opened no held-out
# data) wrote these against the new patterns; each was wrong before its fix.
# (text, self-harm flag?)
REVIEWED_11 = [
    ("I've taken most of my tablets and the cough still hasn't gone", False),
    ("I've taken most of my tablets now, do I need another prescription?", False),
    ("I took my whole month's supply of tablets with me to Spain and lost them", False),
    ('I took the whole packet of tablets out of the blister so I could put them in'
     ' her dosette', False),
    ('i took most of the morning off school to take him to the dentist', False),
    ("i've taken loads of photos of the rash on my phone", False),
    ('i took loads of pictures on my phone to show the doctor', False),
    ('I took a bunch of flowers to my mum at her bedside', False),
    ('I took 20 puffs of salbutamol during the night and it barely helped', False),
    ('i took twenty puffs of my salbutamol', False),
    ("I've taken about 30 paracetamol over the last ten days for my tooth", False),
    ("I've taken 56 tablets since the start of the month, is that right", False),
    ('i took 28 tablets over the last 4 weeks like the doctor said', False),
    ("I've taken about thirty co-codamol since Friday for my back", False),
    ("i necked loads of alcohol at the wedding and I'm on metronidazole", False),
    ('i took loads of calls from someone claiming to be the surgery', False),
    ('I took the whole bottle of calpol with us on holiday', False),
    ('i took a load of them back to the pharmacy for disposal', False),
    ('i took loads of them back to the chemist when dad died', False),
    ('I took a handful of my leaflets to the school', False),
    ("I've taken most of it, the liquid antibiotic, can I stop now", False),
    ('I took most of them with food like the leaflet says', False),
    ('i took about 40 winks on the sofa with my phone', False),
    ('I had my smear test today, I just wanted it over with', False),
    ('I had my wisdom teeth out, I just wanted it all over with', False),
    ('i just wanted not to wake up in the night with the pain', False),
    ('I had a sleeping tablet as I wanted not to wake up when the baby cried', False),
    ('I feel really drowsy after what I took for my hay fever this morning', False),
    ('can I drive after what I took this morning, it was a codeine', False),
    ('my son tried something stupid on his skateboard and broke his wrist', False),
    ('he tried something silly on the trampoline and hurt his neck', False),
    ('I tried something stupid with the hoover and cut my finger', False),
    ('my husband tried something stupid with the ladder and fell', False),
    ('the surgeon did some cutting on my stomach to get the cyst out', False),
    ('they did some cutting on my arm to take the mole off', False),
    ('I held the match too close to my hand lighting the boiler and burnt it', False),
    ('is 1000mg too much for someone my size', False),
    ('is a 500mg dose of amoxicillin too much for a woman my size', False),
    ("is ibuprofen 400 too much for someone my weight, I'm only six stone", False),
    ("will 7.5mg zopiclone be enough so I don't wake up at 3am", False),
    ('is one tablet enough so i dont wake up in pain', False),
    ('how high can his potassium go before it stops the heart', False),
    ("mum's bed is high enough that a fall could break her hip", False),
    ('is the cot high enough so the fall would hurt him if he climbs out', False),
    ('I was thinking about the drop off at school when I felt dizzy', False),
    ("we're thinking about the jump to the higher dose of sertraline", False),
    ("my husband died of a heart attack, will the life insurance pay out if it wasn't"
     ' an accident, the policy is accidental death', False),
    ("does the life cover pay out if it wasn't an accident, he had a stroke", False),
    ("the life insurance won't pay when it isn't an accident so we're stuck with the"
     ' funeral bill', False),
    ('I fell last week and it was my neighbour who found me on the floor', False),
    ("it was the carer who found me when I'd collapsed in the bathroom", False),
    ("it wasn't my daughter who found me, it was the postman", False),
    ('it was a paramedic who found me after the fall', False),
    ("can you tell my daughter I couldn't go on the trip because of my knee", False),
    ("please tell my husband I couldn't keep going on the treadmill at physio", False),
    ('can you tell her none of this was her fault, mum fell on her own', False),
    ("tell the nurse, well tell her, none of it was her fault, the family don't blame her", False),
    ("I've worked out how and when to take the new inhalers", False),
    ("we've sorted the when and where for mum's funeral now", False),
    ("we've decided the where and when for the christening", False),
    ("I've planned where and when I'll do my insulin injections at work", False),
    ("the carers won't have to come in for me much longer, my leg's healing nicely", False),
    ("the district nurse won't need to do dressings for me much longer", False),
    ("my daughter won't have to take time off for me much longer once I can drive", False),
    ("you won't have to put up with me moaning once my hip's done", False),
    ("you won't need to put up with me ringing every day once the prescription's sorted", False),
    ("can the nurse come Thursday, my son will be home to let her in, because I won't be", False),
    ('my husband can sign for the delivery cos i wont be', False),
    ("I've been told to hold off taking everything after midnight before my operation", False),
    ("the anaesthetist said avoid taking them all once you've fasted", False),
    ("don't worry about me hurting myself, I'm fine", False),
    ('i took the whole lot of my sertraline last night', True),
    ('i took like 30 fluoxetine last night', True),
    ('ive took about 40 of my venlafaxine', True),
    ('i swallowed about 30 pregabalin', True),
    ('i took 50 of my dihydrocodeine', True),
    ('i took about sixty of my mums aspirin', True),
    ('i took 25 of my lithium', True),
    ("i'd taken about forty of them before i rang", True),
    ('id taken about thirty of my tablets', True),
    ('i took more than 30 paracetamol', True),
    ('i took well over 30 co-codamol last night', True),
    ('i took two whole packets of paracetamol', True),
    ("i've been feeling awful this week so i took about thirty of my tablets", True),
    ('i take them twice a day and last night i took about 30 of them', True),
    ('i took 30 paracetamol and it was not by accident', True),
    ('i wasnt thinking straight i took forty of my tablets', True),
    ('i couldnt sleep i took thirty of my zopiclone', True),
    ('no i took about thirty of them', True),
    ('i popped about 30 pills', True),
    ('i took forty paracetamol a day ago', True),
    ('i just want to not wake up', True),
    ('i took the pills because i wanted it all to end', True),
    ('i swallowed them i was hoping i wouldnt wake up', True),
    ('after what i done to myself last night', True),
    ('ive been cutting my arms again', True),
    ('i cut my thighs last night', True),
    ('how many would you have to take before your heart stops', True),
    ('is the car park roof high enough for a fall to kill you', True),
    ('would they still pay out on my life insurance if it wasnt an accident', True),
    ('does life insurance pay out if i did it on purpose', True),
    ('its not my wife who comes home to it', True),
    ('i dont want my kids to be the ones who find me', True),
    ('i dont want it to be my daughter that finds my body', True),
    ('so my mum isnt the one who finds me', True),
    ('tell them i couldnt do it anymore', True),
    ('tell my son i couldnt cope anymore', True),
    ('i know how and where', True),
    ('ive picked the where and the when', True),
    ('no one is going to have to worry about me soon', True),
    ('nobody is going to have to put up with me for much longer', True),
    ('i took like 20 to 30 of my sertraline', True),
    ('i took about 30 in one go of my paracetamol', True),
    ('no one will need to worry about me much longer', True),
    ('i dont want it to be my son who has to find me', True),
    ('i dont want my daughter to be the one who walks in on it', True),
]


# The tables of (text, self-harm flag?) above, by the round or review that wrote them: the
# left-out rows' farewells and plans (ninth round), the second review's cases, the tenth
# round's risk and its ordinary neighbours, and the tenth round's review.
SELF_HARM_TABLES = {
    "left_out_9": LEFT_OUT_9,
    "reviewed_10": REVIEWED_10,
    "blind_10": BLIND_10,
    "reviewed_11": REVIEWED_11,
}


@pytest.mark.parametrize(
    ("table", "text", "flagged"),
    [(name, text, flag) for name, rows in SELF_HARM_TABLES.items() for text, flag in rows],
)
def test_self_harm_flag_tables(table: str, text: str, flagged: bool) -> None:
    assert ("self_harm" in detect(text).kinds) is flagged, table


# Eleventh round: the four ordinary sentences of the training pool that the patterns
# themselves escalated (a faint told as a story, thanks at discharge, fear of an anaesthetic,
# a medicines mistake feared), their neighbours, and the risk that must still raise a flag.
ROUND_11 = [
    ("I nearly died of embarrassment when I fainted at the chemist", ()),
    ("when I fainted in the queue everyone stared at me", ()),
    ("I'm ringing to say thank you for the last time, my treatment's finished and I've been"
     " discharged", ()),
    ("I'm afraid he won't wake up after the operation.", ()),
    ("I'm worried she won't wake up from the anaesthetic", ()),
    ("I'm nervous that I'm taking the wrong dose and hurting myself.", ()),
    ("I keep mixing up my tablets and I'm scared of hurting myself by mistake", ()),
    ("she fainted and now she won't wake up", ("emergency",)),
    ("when she fainted just now she hit her head and there's blood everywhere", ("emergency",)),
    ("he fainted a minute ago and he's not breathing properly", ("emergency",)),
    ("I wanted to say thank you for the last time, I won't be here tomorrow", ("self_harm",)),
    ("thank you for the last time, I've been discharged but I won't be around much longer",
     ("self_harm",)),
    ("I'm scared, he won't wake up", ("emergency",)),
    ("he won't wake up after taking all those tablets", ("emergency",)),
    ("I'm scared I'm going to end up hurting myself", ("self_harm",)),
    ("I took the wrong dose on purpose to hurt myself", ("self_harm",)),
    ("I want to hurt myself, I keep mixing up my tablets on purpose", ("self_harm",)),
    # one dose too many of a usual medicine, by mistake or asked about; medicines kept
    ("I might have had two of my hay fever tablets instead of one, should I worry", ()),
    ("is it okay to take two ibuprofen and two paracetamol together", ()),
    ("um i think i double dosed my thyroid pill this morning, do i need to worry", ()),
    ("Silly me, I took two of my cholesterol tablets last night instead of one. I feel"
     " absolutely fine, I just wanted to check.", ()),
    ("the pharmacy took all my old tablets back when the doctor changed everything, is that"
     " normal", ()),
    ("My husband has had all the medicines locked in a box since the grandkids came to stay.",
     ()),
    ("I think I double dosed my insulin this morning", ("emergency",)),
    ("I took two of my sleeping tablets instead of one and I can't stay awake", ("emergency",)),
    ("I double dosed on purpose, I want it all to end", ("self_harm", "emergency")),
    ("I took a whole box of paracetamol instead of my usual two", ("self_harm", "emergency")),
    ("she took double her heart tablets by mistake and now she's dizzy and her heart's racing",
     ("emergency",)),
    ("my son took two of my tablets by accident, he's three", ("emergency",)),
    ("I took all the tablets I'd locked away", ("self_harm", "emergency")),
    # goodbyes with a move, a flight or a discharge said beside them still flag (a review showed
    # that an everyday leaving read anywhere in the words explained away real farewells)
    ("I've said my goodbyes, I'm moving on to a better place", ("self_harm",)),
    ("I've given my things away, I won't need them where I'm going, I'm moving away",
     ("self_harm",)),
    ("Before you leave, I wanted to say goodbye, I won't be here next week", ("self_harm",)),
    ("I've written letters for the kids to find, I'm flying out tonight", ("self_harm",)),
    ("I've said my goodbyes to everyone, I'm moving to be with my husband again", ("self_harm",)),
    ("My will's sorted and the solicitor has it, so there's nothing stopping me now. Sunday's"
     " the day.", ("self_harm",)),
    # rope for the garden or to tie something down; rope burn is an injury
    ("I bought rope at the garden centre this morning for the runner beans, and I've done"
     " something to my back lifting the bags.", ()),
    ("i got some rope from b and q earlier um to tie down the trailer and ive got rope burn on my"
     " palm its blistering do i need to come in", ()),
    ("I've bought a rope to tie down the trampoline before the storm", ()),
    ("I've bought rope for the garden, the beam in the garage will hold me", ("self_harm",)),
    ("I got some rope today and I've got rope burn from practising the knot", ("self_harm",)),
    # an episode seen to in hospital and sent home, unless it is back, now or again
    ("I was brought in on Thursday with chest pains and they sent me home the same night.", ()),
    ("fainted at church on sunday and came round in a and e they let me go yesterday but no one"
     " said what happens with the heart monitor thing", ()),
    ("they sent me home yesterday after chest pains but the pain is back", ("emergency",)),
    ("I was discharged on Monday after chest pains and I have crushing pain in my chest",
     ("emergency",)),
    ("I fainted on Sunday, they sent me home, and I have chest pain right now", ("emergency",)),
    # a lifeline stopped with an end in view; stopped for a treatment reason it is business
    ("I've stopped my insulin, I'm type one, I know exactly where that goes", ("self_harm",)),
    ("i missed my dialysis and i'm not going back, i'm done", ("self_harm",)),
    ("ive stopped having my insulin on purpose since the weekend i want this to be the end so"
     " dont send anyone", ("self_harm",)),
    ("I've stopped my insulin because I'm on the pump now", ()),
    ("I stopped my old pens, the nurse switched me to a new insulin, so that's that", ()),
    ("I missed dialysis on Tuesday because the transport never came", ()),
    ("I'm thinking of stopping the dialysis, I'm just so tired of it all", ("safety_check",)),
    # taking them all said as what is arranged; taking them all back is not
    ("once the house is quiet tonight I'm taking the lot", ("self_harm",)),
    ("After that I'm taking them all.", ("self_harm",)),
    ("I'm taking them all back to the chemist on Monday", ()),
    ("I'm taking them all with me on holiday, is that allowed on the plane?", ()),
    # intent said obliquely; the same words about a job, a queue or a move are not
    ("I'm worth more to them gone than here, that's the sum of it.", ("self_harm",)),
    ("I've said to myself, I'll not be here for another one. I've made my mind up.",
     ("self_harm",)),
    ("I won't be here for another winter", ("self_harm",)),
    ("I'll go before it gets me, on my own terms", ("self_harm",)),
    ("I'm not sticking around for what comes after that. I mean it.", ("self_harm",)),
    ("Tell him this is me signing off for good.", ("self_harm",)),
    ("I'm going to leave on my own terms, I've handed my notice in", ()),
    ("I'll leave while I still can, this job is awful", ()),
    ("I'm not hanging about in A&E for six hours", ()),
    ("I won't be here for another winter, we're moving to Spain in October", ()),
    ("this is the last time she'll hear from me about the parking", ()),
    # a collapse told as how someone died is grief; a death that may be happening is not
    ("When my husband collapsed in the garden last spring he never came round, and since the"
     " funeral I can't sleep", ()),
    ("she collapsed at the shops and passed away in hospital two years ago, I still miss her", ()),
    ("my husband has just collapsed and I think he's died", ("emergency",)),
    ("he collapsed and he's not breathing, my dad died like this", ("emergency",)),
    ("she's collapsed, i think she's dead", ("emergency",)),
    # a clause that turns from the past to now: what comes after "and now" is not history
    ("my wife collapsed, we lost her last year and now my son has collapsed too",
     ("emergency",)),
    ("my dad had a heart attack last year and now my mum has been diagnosed with diabetes", ()),
    ("he had a seizure last week and now his sister has a cold", ()),
    ("my mum had a stroke in 2019 and now my dad is fine", ()),
]

# Issue 9, twelfth round: a stopped lifeline with "that's it" is an end in view (a review's
# missed sentence); a treatment change said beside it still explains it.
ROUND_12 = [
    ("I'm stopping my insulin from tonight, that's it.", ("self_harm",)),
    ("im stopping my insulin from tonight thats it", ("self_harm",)),
    ("I'm stopping my insulin, I'm not going back on it, that's it.", ("self_harm",)),
    ("I'm stopping my insulin pens from tonight because I'm on the pump now, that's it.", ()),
    ("I'm stopping my insulin from tonight, that's it, I'm back on the tablets", ()),
    ("I've stopped my insulin, that's it, I've had a word with the consultant", ()),
    # a supply swallowed, told medicine first and the amount after
    ("I took all my zopiclone earlier, the whole packet", ("self_harm",)),
    ("i swallowed all the diazepam the doctor gave me like twenty of them", ("self_harm",)),
    ("I had all the painkillers in the cupboard with a bottle of gin", ("self_harm",)),
    ("I took three packets of co-codamol after tea", ("self_harm",)),
    ("i had about three months of my sertraline in one go", ("self_harm",)),
    ("I've put all my fentanyl patches on at once, seven of them", ("self_harm",)),
    ("I injected the rest of my insulin pen in one go after dinner", ("self_harm",)),
    ("I injected the rest of my insulin cartridge and put a new one in, is that right", ()),
    ("I took all my tablets this morning like I'm supposed to", ()),
    ("took all of my venlafaxine, every last one of them", ("self_harm",)),
    ("Took my tablets this morning, all of them, as usual.", ()),
    ("I took all my tablets this morning as usual, then the whole packet of paracetamol",
     ("self_harm", "emergency")),
    ("I've taken all of them as prescribed, one a day for thirty days", ()),
    ("I took all my tablets at once by mistake, all of them, is that bad?", ("emergency",)),
    ("I changed my patch this morning like the nurse showed me", ()),
    # an attempt told by its means
    ("last night I tied a belt to the banister and it snapped", ("self_harm",)),
    ("i put the hose from the exhaust through the car window for a bit then stopped",
     ("self_harm",)),
    ("I walked into the river on purpose and a dog walker got me out", ("self_harm",)),
    ("I did something to my wrist with a razor blade and it won't stop bleeding",
     ("self_harm",)),
    ("I drank some antifreeze about an hour ago", ("self_harm", "emergency")),
    ("I went into the sea for a swim and a lifeguard pulled me out, I swallowed a lot of water",
     ()),
    ("the washing line rope snapped when I pulled it", ()),
    ("the garage mechanic said the exhaust pipe needs replacing", ()),
    ("my toddler drank some bleach from under the sink", ("emergency",)),
    # intent said as a question of how much, a step, a decision with help turned away
    ("how many of my sleeping tablets would it take to not wake up?", ("self_harm",)),
    ("if I took all my insulin tonight would I just not wake up", ("self_harm",)),
    ("I nearly did it last night, and I think I will do it tonight", ("self_harm",)),
    ("I stand on the platform when the fast train comes through and think one step",
     ("self_harm",)),
    ("I've made up my mind, I know what I'm doing, please don't send anyone", ("self_harm",)),
    ("how many paracetamol can I take in a day?", ()),
    ("don't send anyone, I'll come down to the surgery myself", ()),
    # a message freeing someone of blame, with words of a parting
    ("if my son rings, tell him I loved him and none of this was his fault", ("self_harm",)),
    ("please tell the receptionist it wasn't her fault the appointment got lost", ()),
    ("tell my wife it's not her fault I missed the bus", ()),
    # the last call, said as thanks
    ("thank you for everything, this is the last time I'll be ringing", ("self_harm",)),
    ("thanks, this is the last time I'll be ringing this useless surgery", ()),
    # a chore that would drive one to a method is exasperation
    ("if I have to fill in this form again I'm going to jump off a bridge", ()),
    ("if I have to go on like this another night I'm going to jump off a bridge", ("self_harm",)),
    # a course of breathlessness over weeks is a review; acute or severe words keep the flag
    ("mum's been more and more short of breath for a few weeks with her COPD", ()),
    ("he's been breathless for weeks and tonight he can't get his breath", ("emergency",)),
    ("she's been short of breath for a month and now her lips are blue", ("emergency",)),
    # an episode on an earlier day, fine now; seen in hospital and home
    ("she had a seizure last Tuesday but she's fine now, I need her repeat", ()),
    ("he had a seizure last week and he's fitting again now", ("emergency",)),
    ("Dad collapsed last week and was in hospital, he's home and doing fine now", ()),
    # "I won't need it" with a recovery said beside it is business
    ("cancel my physio, I won't need it, I'm back on my feet, thanks for everything", ()),
]

# Issue 9, thirteenth round: the older dose patterns on ordinary medicine talk. A course taken
# as told, the day's own tablets, two paracetamol, tablets hard to swallow, a blocked nose and
# a question about a drink raised an emergency; an overdose told the same way keeps its flags.
ROUND_13 = [
    ("I took the whole packet of antibiotics as prescribed and the infection is still there.", ()),
    ("i finished the full course of amoxicillin all of it like the doctor said", ()),
    ("I've taken all my tablets for today, do I take the evening ones as well?", ()),
    ("I took two paracetamol an hour ago and the headache's still there.", ()),
    ("I took a whole box of Lemsip over the week.", ()),
    ("i swallowed all my tablets this morning fine its just the big one sticks in my throat", ()),
    ("I can't breathe through my nose, it's so blocked.", ()),
    ("Can I take my tablets with alcohol?", ()),
    ("Is it ok to take my pills with wine tonight?", ()),
    ("I took two boxes of paracetamol an hour ago.", ("self_harm", "emergency")),
    ("I took the whole packet of antibiotics at once because I want it all to stop.",
     ("self_harm", "emergency")),
    ("I took a whole box of paracetamol over the weekend.", ("emergency",)),
    ("I've taken all my tablets for today and all of tomorrow's too.", ("self_harm", "emergency")),
    ("I swallowed all my tablets and I don't want to wake up.", ("self_harm", "emergency")),
    ("I can't breathe, my chest is so tight.", ("emergency",)),
    ("I can't breathe through my nose or my mouth, my throat's swelling up.", ("emergency",)),
    ("I mixed all my tablets with whisky about twenty minutes ago", ("emergency",)),
    ("I've taken my pills with vodka, can I just say that", ("emergency",)),
    ("I've got my insulin for tonight and no way of knowing what dose to take", ()),
    ("I've got my tablets ready for tonight, I know what dose will do it", ("self_harm",)),
    ("I've got the pills ready for tonight", ("self_harm",)),
]

# Issue 9, fourteenth round: a past attempt dated by a year, by "years since" or "back when I
# was", told beside the caller's recovery, is history; a date with anything of now keeps it.
ROUND_14 = [
    ("its been two years since i tried to end my life and honestly im in a really good place now",
     ()),
    ("yeah back when i was suicidal they gave me a week at a time, thats three years ago now im in "
     "a good place", ()),
    ("I attempted suicide in 2015 and I'm doing well now.", ()),
    ("I tried to kill myself three years ago and now I'm doing well", ()),
    ("its been two years since i tried to end my life and im not in a good place now",
     ("self_harm",)),
    ("its been two years since i tried to end my life and i want to do it again", ("self_harm",)),
    ("i tried to end my life in 2015 and i'm thinking about it again now", ("self_harm",)),
    ("years since i felt this bad, i want to kill myself", ("self_harm",)),
    ("I tried to kill myself three years ago and now I want to again", ("self_harm",)),
    # a review of the rule: a date or recovery words beside risk that is with the caller now
    ("five years since i tried i want to kill myself", ("self_harm",)),
    ("it's three years since I hurt myself, I want to hurt myself", ("self_harm",)),
    ("back when I was with her I was happy, I just want to die", ("self_harm",)),
    ("i attempted suicide years ago and im good, i want to die", ("self_harm",)),
    ("i tried to kill myself three years ago now i'm going to finish it", ("self_harm",)),
    ("I tried to kill myself years ago and I'm well aware I'll do it", ("self_harm",)),
    ("two years since i tried to kill myself and i'm doing well, i'm going to do it on sunday",
     ("self_harm",)),
    ("It's been two years since I tried to kill myself and I'm fine, I just want it all to end",
     ("self_harm",)),
    ("ten years since I tried to hang myself and I'm fine but I'm going to try it again",
     ("self_harm",)),
    ("two years since i took an overdose and i've taken thirty paracetamol",
     ("self_harm", "emergency")),
    ("I overdosed years ago and I'm fine I'm just going to do it properly this time",
     ("emergency",)),
    ("it's years since he was ill, he's collapsed and he's not breathing", ("emergency",)),
]

# A medicine or a time named in adherence, a mix-up or a dose question is no risk factor: the
# model tier must not read "insulin" or "tonight" there as a means or a time. Finality keeps it.
ORDINARY_MEANS = [
    "I took all of my insulin as normal this morning",
    "I knocked my dosette box over and don't know which tablets I've taken",
    "I've got my insulin for tonight and no way of knowing what dose to take",
]


@pytest.mark.parametrize("text", ORDINARY_MEANS)
def test_medicine_named_in_ordinary_dose_talk_is_no_risk_factor(text: str) -> None:
    assert detect(text).risk_factor is None

# Issue 9, fifteenth round: history and planned returns in train14's ordinary calls (a year
# said as words, a dark time dated the sentence before, an absence with a return), and the
# risk that must keep its flag around them.
ROUND_15 = [
    ("well after my husband died here in twenty nineteen i went through a really bad patch i "
     "wanted to die for a while if im honest", ()),
    ("Four years ago I was in a really dark place. I took an overdose and ended up in A&E, and "
     "that's when it was started.", ()),
    ("in twenty nineteen i took an overdose", ()),
    ("i tried to kill myself in nineteen ninety eight", ()),
    ("Hi, I'm going away for six months and wanted to sort out my medication before I go.", ()),
    ("And I won't be around for my smear recall, so please don't panic if I don't answer. I'll "
     "book in when I'm back in April.", ()),
    ("i took thirty tablets in twenty minutes", ("self_harm", "emergency")),
    ("i took them all in twenty five minutes i want to die", ("self_harm",)),
    ("Four years ago I was in a really dark place. I took an overdose last night.",
     ("self_harm", "emergency")),
    ("Four years ago I was in a really dark place. I've taken an overdose.",
     ("self_harm", "emergency")),
    ("Four years ago my wife died. I took an overdose.", ("self_harm", "emergency")),
    ("i was in a dark place and i took an overdose last night", ("self_harm", "emergency")),
    ("i was in a really dark place so i took an overdose", ("self_harm", "emergency")),
    ("i went through a bad patch and i want to die", ("self_harm",)),
    ("I won't be around for the appointment. when i get back home i'll end it", ("self_harm",)),
    ("I won't be around much longer. When I'm back from the bridge it'll be over",
     ("self_harm",)),
    ("I won't be around for my appointment, I'm going away for good", ("self_harm",)),
    ("i've sorted out my affairs before i go, when i'm gone they'll be better off",
     ("self_harm",)),
    # an ordinary reason for being away anywhere in the text (train15b's callers)
    ("i wont be around for the kyro podist um i am having my gallbladder out that week", ()),
    ("I've made my mind up, I'm deferring uni and going home to Cork, so I won't be around for "
     "the October clinic.", ()),
    ("You can give my slot in June to someone else. I'm not going to be here by then, y'know.",
     ("self_harm",)),
    ("Please cancel all my future appointments. I won't be around for any of them. No, not on "
     "holiday.", ("self_harm",)),
    ("i wont be around for the appointment im going to the bridge tonight", ("self_harm",)),
    ("i wont be around after the weekend im going home to be with my husband", ("self_harm",)),
    ("i won't be around much after friday, i'm flying to spain", ("self_harm",)),
    ("i wont be around next month, im relocating my tablets to the shed with the rope",
     ("self_harm",)),
]


def test_a_means_beside_an_end_stays_a_risk_factor() -> None:
    assert detect("I've taken all my tablets for tonight and I want it all to stop").risk_factor
    assert detect("I've saved up my tablets for tonight").risk_factor

# Issue 9, twelfth round: a helper's review of the round's patterns (208 sentences of its own;
# the first version escalated 47 of its 128 ordinary sentences and missed 16 of its 80 risk
# and emergency sentences). The cases the final patterns get right are kept here: ordinary
# sentences stay quiet, a child's accident is no self-harm, and risk keeps its flag.
REVIEW_12 = json.loads((Path(__file__).parent / "review_12_cases.json").read_text())


@pytest.mark.parametrize(
    ("text", "kinds"), REVIEWED_9 + ROUND_11 + ROUND_12 + ROUND_13 + ROUND_14 + ROUND_15
)
def test_reviewed_cases_raise_exactly_their_flags(text: str, kinds: tuple[str, ...]) -> None:
    got = detect(text).kinds
    assert set(kinds) <= set(got) and ("self_harm" in got) == ("self_harm" in kinds)
    if not kinds:
        assert got == ()


def test_a_denial_of_needing_to_is_still_a_denial() -> None:
    assert detect("I don't need to cut myself anymore.").negated_only
    assert detect("I don't need to self harm these days.").negated_only


def test_letters_whose_lower_case_is_longer_keep_the_quote_in_place() -> None:
    text = "\u0130brahim here, im gonna kill myself"
    [hit] = detect(text).matches
    assert text[hit.start : hit.end] == hit.phrase == "kill myself"


# Speech recognisers, captions and typed chat often drop the apostrophe of a contraction and
# write speech as it sounds. The words mean what their written form means: the same red flag,
# the same denial.
BARE_APOSTROPHES = [
    ("i cant breathe", ("emergency",), False),
    ("he isnt breathing", ("emergency",), False),
    ("i cant wake him up", ("emergency",), False),
    ("i dont want to be here anymore", ("self_harm",), False),
    ("ive taken all my tablets", ("self_harm", "emergency"), False),
    ("i cant go on", ("safety_check",), False),
    ("i dont want to kill myself", (), True),
    ("i wont hurt myself", (), True),
    ("i wouldnt ever hurt myself", (), True),
    ("i didnt take an overdose", (), True),
    ("nah i dont want to die i want to get better thats why im ringing", (), True),
    # not needing something denies nothing said after it, with or without punctuation
    (
        "youve been lovely i wont need any more appointments im saying goodbye to everyone today",
        ("self_harm",),
        False,
    ),
    (
        "I won't need any more appointments. I'm saying goodbye to everyone today.",
        ("self_harm",),
        False,
    ),
    # "won't need the ..." is a farewell only with a word of time or finality after it
    ("i wont need the morning dose till seven", (), False),
    ("I'm emigrating to Australia on Friday so I won't need the appointment.", (), False),
    (
        "I've handed my bank cards to my brother, I won't need them where I'm going",
        ("self_harm",),
        False,
    ),
    # other spoken forms: "wanna", "gonna", "em", "no more" for "anymore"
    ("i really dont wanna be alive no more", ("self_harm",), False),
    ("i dont wanna be here no more", ("self_harm",), False),
    ("i took em all", ("self_harm",), False),
    ("I took an OD an hour ago", ("self_harm", "emergency"), False),
    ("The eye drops say OD twice a day, is that the right eye?", (), False),
    ("i aint gonna hurt myself", (), True),
    ("I want no more pain, can the doctor change my patches", (), False),
    # words that are English words without an apostrophe stay what they are
    ("the shed door is stuck and im ill with it", (), False),
]


@pytest.mark.parametrize(("text", "kinds", "denied"), BARE_APOSTROPHES)
def test_spoken_forms_mean_what_their_written_forms_say(
    text: str, kinds: tuple[str, ...], denied: bool
) -> None:
    result = detect(text)
    assert result.kinds == kinds
    assert result.negated_only is denied
    # what is quoted to the agent is the caller's own words, as transcribed
    for m in result.matches:
        assert text[m.start : m.end] == m.phrase
        assert m.clause in text


# Who the self-harm words are about: the caller unless the words or the person named just
# before them say someone else. Nobody named, or "they"/"them" (as often the tablets), is the
# caller: their own risk is the one never to miss.
SUBJECTS = [
    ("My husband says he's going to kill himself tonight.", True),
    ("Last night he told me he's going to kill himself.", True),
    ("My daughter is suicidal and I don't know what to do.", True),
    ("she texted me that she is going to end her life", True),
    ("I want to kill myself.", False),
    ("He left me and now I want to die.", False),
    ("My husband says I'd be better off dead.", False),
    ("They'd all be better off without me.", False),
    ("I have the pills here and I'm going to take them all tonight.", False),
    ("I'm scared for my son, he says he wants to die, and I want to end it too.", False),
    # a relative's belongings, a reporter, a subject left out, the caller joining in: the caller
    ("I've been saving up my mum's morphine for weeks.", False),
    ("I've taken all my mum's tablets.", False),
    ("My brother wants to die and honestly so do I.", False),
    ("My husband says he wants to die. Me too.", False),
    ("My son has been cutting himself and I've started doing it too.", False),
    ("my boyfriend left, want to die", False),
    ("He's gone and just want to end it all.", False),
    ("Since my husband died, been feeling really suicidal.", False),
    ("My GP says he thinks the suicidal thoughts are from the new tablets.", False),
    ("My counsellor is off sick and she's the only one who knows about the self harm.", False),
    ("She's been feeling suicidal for weeks.", True),
    ("I think my brother wants to die.", True),
    # a threat to the caller as well is the caller's risk too
    ("he says he wants to kill me and then himself", False),
]


@pytest.mark.parametrize(("text", "other"), SUBJECTS)
def test_who_the_self_harm_words_are_about(text: str, other: bool) -> None:
    result = detect(text)
    assert "self_harm" in result.kinds
    assert result.about_someone_else("self_harm") is other


def test_red_flag_late_in_a_long_text_is_found() -> None:
    text = "I was calling about my bill and the parking. " * 300 + "I want to die."
    assert detect(text).flagged


def test_non_text_is_safe() -> None:
    assert not detect(None).flagged  # type: ignore[arg-type]
    assert not detect(123).flagged  # type: ignore[arg-type]


def test_clause_spans_split_on_sentences_and_contrast() -> None:
    text = "I'm fine. It's just, well, I'm not sad but I'm tired; really tired"
    parts = [text[s:e] for s, e in clause_spans(text)]
    assert parts == ["I'm fine.", "It's just, well, I'm not sad", "I'm tired;", "really tired"]


def test_every_crisis_utterance_in_the_concern_set_is_caught_by_patterns_alone() -> None:
    # The list was reviewed against these rows (see the module docstring and the card);
    # this guards the review from regressions when patterns are edited. "I'd rather be dead
    # than go through more treatment" raises the soft safety check, not an escalation.
    crisis_rows = [r.text for r in load_concerns() if "crisis" in r.labels]
    missed = [t for t in crisis_rows if not detect(t).kinds]
    assert missed == []


def test_routine_requests_in_the_concern_set_do_not_flag() -> None:
    flagged = [r.text for r in load_concerns() if not r.labels and detect(r.text).flagged]
    assert flagged == []


def test_sudden_onset_after_a_dated_operation_is_not_history() -> None:
    # "two weeks ago" dates the operation, not the breathlessness (a clot after surgery)
    text = "I had my hip done two weeks ago and suddenly I can't breathe"
    assert "emergency" in detect(text).kinds
    assert "emergency" not in detect("I had my hip done two weeks ago and it was fine").kinds


# The eleventh round's reviews: helpers wrote risk sentences close to each of the round's new
# explanations (a goodbye beside a move or a discharge, a "mistake" with a large amount, a
# child who swallowed tablets, someone not waking after an operation, harm said to be
# accidental) and ordinary ones beside them. The first version of the round lost 62 of the
# risk sentences' flags; each must raise what the round-10 patterns raised, and the ordinary
# ones the round fixed must stay quiet. A second review wrote 109 ordinary sentences beside the
# round's new recall patterns (insulin pumps and missed dialysis for transport, tablets taken
# together as prescribed or back to the chemist, "not hanging about in this queue"): the first
# version escalated 79 of them; those now quiet stay quiet and its risk sentences caught stay
# caught.
REVIEW_11 = json.loads((Path(__file__).parent / "review_11_cases.json").read_text())


@pytest.mark.parametrize("case", REVIEW_11 + REVIEW_12, ids=lambda c: c["text"][:60])
def test_review_cases(case: dict[str, Any]) -> None:
    """Rounds 11 and 12's reviews: ordinary sentences stay quiet, risk keeps its flags, and
    a child's accident is an emergency but not the caller's self-harm."""
    urgent = {k for k in detect(case["text"]).kinds if k in ("self_harm", "emergency")}
    if case.get("ordinary"):
        assert not urgent
    assert set(case["must_raise"]) <= urgent
    if case.get("not_self_harm"):
        assert "self_harm" not in urgent




# Issue 9, fifteenth round: a helper's review of the round's history and absence rules (84 risk
# sentences written to sit next to them, 54 ordinary ones they were meant to quiet). The first
# version silenced 63 of the risk sentences (a year said as words dated a whole clause, "when
# I'm back" and a reason for being away were read anywhere in the text, a told recovery muted
# the learned model beside a plan); none is silenced now. Risk keeps its flags and the learned
# model's urgent tier; the ordinary sentences kept here stay quiet.
REVIEW_15 = json.loads((Path(__file__).parent / "review_15_cases.json").read_text())


@pytest.mark.parametrize("case", REVIEW_15, ids=lambda c: c["text"][:60])
def test_review_15_cases(case: dict[str, Any]) -> None:
    found = detect(case["text"])
    assert list(found.kinds) == case["kinds"]
    assert ("self_harm" not in found.model_urgent_out) is case["model_may_escalate"]
    if not case["risk"]:
        assert not {"self_harm", "emergency"} & set(found.kinds)


# Issue 9, sixteenth round: a helper's 200 probe sentences (recent attempts told by what
# happened, plans by their means and day, ordinary goodbyes, emergencies that are over) and
# three more helpers' adversarial sentences (176, 205 and 154), each written against one
# version of the round's pattern changes. Every version lost more than it gained under review
# (the last: 62 regressions in 154 sentences), so all were reverted. The 514 of 734 sentences
# the shipped patterns get right are a guard for any future pattern change: risk keeps its
# flag, ordinary words raise nothing urgent. The rest are listed in the file as known misses.
REVIEW_16 = json.loads((Path(__file__).parent / "review_16_cases.json").read_text())["cases"]


@pytest.mark.parametrize("case", REVIEW_16, ids=lambda c: c["text"][:60])
def test_review_16_cases(case: dict[str, Any]) -> None:
    kinds = set(detect(case["text"]).kinds)
    if case["expect"] in ("none", "soft"):
        assert not {"self_harm", "emergency"} & kinds
    else:
        assert case["expect"] in kinds
