"""Replies: a message taken in (intake), the one slot per conversation that answers it (scheduler), the answer
itself in three steps (pipeline: plan, run, finish), its checkpoints while it streams, its title afterwards, and
compare (one prompt, several models)."""
