"""Commands: each does one job in one transaction and imports nothing from Flask."""
