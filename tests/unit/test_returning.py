"""RETURNING clauses whose subqueries name the updated table: SQLite's compiler drops table names
throughout RETURNING, so such a reference must be qualified by hand (core.db.target_column), or it
binds to the subquery's own table. One disqualification once kept every later result off the boards."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Column, Update
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql import visitors
from sqlalchemy.sql.selectable import Select

from runner.claims import _claim_file_statement
from runner.results import _write_statement

STATEMENTS: dict[str, Callable[[], Update]] = {
    "result write": lambda: _write_statement(("status",)),
    "prediction file claim": _claim_file_statement,
}


def bare_target_references(statement: Update) -> list[str]:
    """Columns of the updated table named inside a RETURNING subquery as plain Column objects."""
    target = statement.table
    found = []
    for returned in statement._returning:
        for element in visitors.iterate(returned):
            if isinstance(element, Select):
                found += [
                    f"{c.table.name}.{c.name}"
                    for c in visitors.iterate(element)
                    if isinstance(c, Column) and c.table is target
                ]
    return found


@pytest.mark.parametrize("build", STATEMENTS.values(), ids=STATEMENTS.keys())
def test_returning_subqueries_qualify_the_updated_tables_columns(build: Callable[[], Update]) -> None:
    statement = build()
    assert bare_target_references(statement) == []
    sql = str(statement.compile(dialect=sqlite.dialect()))
    assert "= id" not in sql and "= challenge_id" not in sql, sql


def test_the_check_sees_a_bare_correlation() -> None:
    from sqlmodel import select

    from core.models import Challenge, Submission

    table = Submission.__table__
    bare = select(Challenge.updated_at).where(Challenge.id == table.c.challenge_id).scalar_subquery()
    statement = table.update().returning(bare)
    assert bare_target_references(statement) == ["submission.challenge_id"]
