"""Communities and people: the place tree, the party organisation, memberships, partner units and family links."""
