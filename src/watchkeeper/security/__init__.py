"""Users, roles, API tokens, the audit log and secrets encryption."""
