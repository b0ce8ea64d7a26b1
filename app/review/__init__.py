"""After the call: the empathy review of a stored call, scorecards and the team view.

``scoring`` computes a call's moments, score parts and summary from its stored events;
``scorecards`` groups stored score rows by week and agent; ``service`` runs both against the
store (and the retention sweep); ``schema`` holds the API's response models.
"""

from app.review.schema import CallReview, EmpathyScore, Scorecard, ScorePart, TeamView
from app.review.scoring import SCORE_VERSION, Phrases, review_call, score_row
from app.review.service import Reviewer, reviewer_for

__all__ = [
    "SCORE_VERSION",
    "CallReview",
    "EmpathyScore",
    "Phrases",
    "Reviewer",
    "ScorePart",
    "Scorecard",
    "TeamView",
    "review_call",
    "reviewer_for",
    "score_row",
]
