"""The router: the OpenAI-compatible streaming client (client.py: the request and events in events.py, reading the
stream in sse.py, failures told as errors in error_map.py) and the errors providers write into a stream
(provider_errors.py)."""
