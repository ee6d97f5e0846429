"""The router: the OpenAI-compatible streaming client (client.py) and the errors providers write into a stream
(provider_errors.py)."""
