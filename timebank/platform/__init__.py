"""Cross-cutting database objects: the application role and the schema every capability builds on."""
