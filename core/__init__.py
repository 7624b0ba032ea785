"""The kernel the API (`server/`) and the worker (`runner/`) share, and which imports neither.

The two processes meet only through what is here: the settings, the database (tables, engine,
migrations), the blob store, the queue contract (job names, the "board changed" message and its
channel) and the challenge-record helpers. Its errors are domain errors (`core.errors`); the API
maps them to HTTP statuses.
"""
