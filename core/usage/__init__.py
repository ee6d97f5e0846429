"""What answers cost and who may ask: usage per model, day and person (accounting.py), admins' limits (limits.py)."""
