"""The functional core: metrics, prediction-file validation, public/private split and ranking.

No database, no network, no Docker: everything here is a pure function of its inputs.
"""
