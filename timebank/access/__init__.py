"""Identity and access: who is calling (tokens, logins) and what they may do (one policy for every endpoint)."""
