"""The approval state machine: pure Python, no Flask, no database."""
