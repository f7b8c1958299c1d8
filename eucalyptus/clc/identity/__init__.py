"""Identity: accounts, users, groups, keys, certificates, policies (the Euare service)."""
