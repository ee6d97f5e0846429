"""Settings: each option defined once (options), where a setting is stored (places), the one order every reader
and writer resolves them in (resolver), and the few places an answer reads, in one query (snapshot)."""
