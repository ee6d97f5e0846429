"""Conversations: finding and listing them, who may act on them (access), erasing them, their export, the
platform events that must be handled once (claims), a DM's current conversation, and whether and where a
message is answered (routing, channel policy)."""
