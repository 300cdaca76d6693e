"""Errors of the party-member assessment; each names the rule it protects."""

from __future__ import annotations

from timebank.errors import Conflict, RuleViolation

__all__ = ["NotEnrolled", "PeriodClosed", "ScoreRefused", "SelfAssessment", "WrongStage"]


class PeriodClosed(RuleViolation):
    """The assessment period is closed (or no period covers the date): its scores no longer change."""

    code = "scoring-period-closed"
    title = "Assessment period closed"


class NotEnrolled(RuleViolation):
    """The person has no score card in the period: not a party member there, or exempt from assessment."""

    code = "scoring-not-enrolled"
    title = "Not enrolled in the assessment"


class SelfAssessment(RuleViolation):
    """Nobody scores, reviews, approves or resolves anything about themselves."""

    code = "scoring-self-assessment"
    title = "Self-assessment is not allowed"


class WrongStage(Conflict):
    """The record is not at the stage the action needs (e.g. approving an entry already decided)."""

    code = "scoring-wrong-stage"
    title = "Not at the right stage"


class ScoreRefused(RuleViolation):
    """The ledger refused a score transfer; ``result`` names the ledger rule."""

    code = "scoring-transfer-refused"
    title = "Score transfer refused"
