"""The Litestar API, the database models and migrations, accounts, and the `riality` command."""
