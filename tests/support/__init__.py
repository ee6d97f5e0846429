"""Helpers shared by the tests; fixtures stay in the conftest.py files, which import from here.

chat (a conversation, its people, `ask` through a recording sink), sinks (RecordingSink), streaming (a model's
event stream without a router), stores (SQLite and PostgreSQL stores, the test server's schemas, database
faults), settings (`make_settings`), router (EchoRouter), processes (real `hfchat run` processes), slack and
discord (the bots on the loopback fakes), console (the terminal front end on a buffer), logs (captured log
records), secrets (canary secrets), metrics (reading /metrics), net (ports and who listens), waits (polling)
and web (a loopback web for the search tools).
"""
