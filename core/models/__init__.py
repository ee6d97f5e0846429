"""The models: the router's catalog (catalog.py), omni and failover (omni.py), the local llama.cpp server
(local.py), token estimates (tokens.py)."""
