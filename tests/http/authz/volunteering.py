"""Volunteering endpoints: rules in timebank/access/rules/volunteering.py; their rows of the table are to come."""

AWAITING_MATRIX = frozenset({
    "volunteering.activities.read", "volunteering.activity.cancel", "volunteering.activity.publish",
    "volunteering.activity.read", "volunteering.attendance.record", "volunteering.check_in_code",
    "volunteering.correction.decide", "volunteering.correction.request", "volunteering.donation", "volunteering.gift",
    "volunteering.grant", "volunteering.grants.read", "volunteering.hours.export", "volunteering.person.read",
    "volunteering.policy.read", "volunteering.policy.write", "volunteering.record.amend", "volunteering.record.read",
    "volunteering.record.reject", "volunteering.records.approve", "volunteering.records.read",
    "volunteering.roster.confirm", "volunteering.roster.read", "volunteering.scan", "volunteering.signup.cancel",
    "volunteering.signup.create",
})  # fmt: skip
