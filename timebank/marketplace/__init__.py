"""The three lists (resources, needs and micro-wishes, projects) and the dispatch–claim–rate order cycle.

Modules by concern: ``resources``, ``needs``, ``wishes`` and ``projects`` keep the lists; ``orders`` places, redirects
and cancels orders, ``claims`` takes them through claim, done and rating, ``crediting`` writes what a closed order
pays, ``escalation`` sweeps overdue orders up the tiers, ``matching`` suggests who could take a need (and what a
resource could take), ``metrics`` counts how the cycle performs; ``policy`` holds the community's rules.
"""
