"""Personal API tokens: named, scoped (`read` or `submit`), optionally expiring, shown once and
stored as a sha256, revocable, their last use recorded. For scripts and the participants' CLI."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import MAX_ROW_ID, Token, TokenScope, utcnow
from server.errors import BadRequest, Conflict, Forbidden, NotFound
from server.services.accounts import Viewer, token_digest

PREFIX = "rly_"  # tells a riality token apart in a leaked file or a secret scanner
MAX_TOKENS = 50  # personal tokens per user
MAX_LIFETIME = timedelta(days=366)
PERSONAL_SCOPES = (TokenScope.READ, TokenScope.SUBMIT)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    name: str
    scope: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


def _info(row: Token) -> TokenInfo:
    assert row.id is not None and row.name is not None
    return TokenInfo(row.id, row.name, row.scope, row.created_at, row.expires_at, row.last_used_at)


def _require_signed_in(viewer: Viewer) -> None:
    # A token made with a token could outlive the revocation of its maker: only a sign-in mints them.
    if viewer.scope is not TokenScope.FULL:
        raise Forbidden("API tokens are managed after signing in with a password, not with an API token")


async def create_token(
    session: AsyncSession, viewer: Viewer, *, name: str, scope: str, expires_at: datetime | None
) -> tuple[TokenInfo, str]:
    """A new token and its secret, which is shown this once and never stored."""
    _require_signed_in(viewer)
    name = name.strip()
    if not 1 <= len(name) <= 80 or not name.isprintable():
        raise BadRequest("name: expected 1 to 80 printable characters")
    if scope not in PERSONAL_SCOPES:
        raise BadRequest(f"scope: expected 'read' or 'submit' (submit includes read), got {scope[:20]!r}")
    now = utcnow()
    if expires_at is not None and expires_at.tzinfo is None:
        raise BadRequest("expires_at: needs a time zone, e.g. 2027-01-31T00:00:00Z")
    if expires_at is not None and not now < expires_at <= now + MAX_LIFETIME:
        raise BadRequest("expires_at: expected a time in the future, within a year (or none: until revoked)")
    mine = await session.exec(
        select(Token.id).where(Token.user_id == viewer.id, col(Token.name).is_not(None))
    )
    if len(mine.all()) >= MAX_TOKENS:
        raise Conflict(f"you have {MAX_TOKENS} API tokens, the most allowed; revoke one first")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = Token(
        user_id=viewer.id, token_hash=token_digest(secret), name=name, scope=scope, expires_at=expires_at
    )
    session.add(row)
    await session.commit()
    await session.refresh(row)
    return _info(row), secret


async def list_tokens(session: AsyncSession, viewer: Viewer) -> list[TokenInfo]:
    _require_signed_in(viewer)  # a leaked read token must not map its owner's other tokens
    rows = await session.exec(
        select(Token)
        .where(Token.user_id == viewer.id, col(Token.name).is_not(None))
        .order_by(col(Token.id).desc())
    )
    return [_info(row) for row in rows]


async def revoke_token(session: AsyncSession, viewer: Viewer, token_id: int) -> None:
    """The token stops working at once. Someone else's token is, to this user, no token at all."""
    _require_signed_in(viewer)
    row = await session.get(Token, token_id) if 0 < token_id <= MAX_ROW_ID else None  # PostgreSQL: int4
    if row is None or row.user_id != viewer.id or row.name is None:
        raise NotFound(f"you have no API token {token_id}")
    await session.delete(row)
    await session.commit()
