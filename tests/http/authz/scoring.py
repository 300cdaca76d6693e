"""Party assessment endpoints: rules in timebank/access/rules/scoring.py; their rows of the table are to come."""

AWAITING_MATRIX = frozenset({
    "scoring.catalogue.write", "scoring.community.read", "scoring.entries.read", "scoring.entry.decide",
    "scoring.entry.reverse", "scoring.member.read", "scoring.member.review", "scoring.member.score",
    "scoring.member.self", "scoring.objection.file", "scoring.objection.resolve", "scoring.period.close",
    "scoring.period.open", "scoring.period.read", "scoring.pledge.assess", "scoring.pledge.report",
    "scoring.ratings.draft", "scoring.ratings.read", "scoring.ratings.write",
})  # fmt: skip
