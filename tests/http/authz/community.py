"""Community endpoints: served, but timebank/access/rules/ has no community rules yet (they answer 403 to all)."""

AWAITING_RULES = frozenset({
    "community.audit.read", "community.create", "community.dual_registration", "community.family.request",
    "community.family.verify", "community.grant.revoke", "community.grants.write", "community.list",
    "community.membership.end", "community.memberships.write", "community.people.list", "community.people.write",
    "community.person.read", "community.places.read", "community.places.write", "community.teams.read",
    "community.teams.write", "community.units.read", "community.units.write",
})  # fmt: skip
