"""Accounts: registration, password checks (argon2) and opaque bearer tokens stored as hashes."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.errors import BadRequest, Conflict, Unauthenticated
from server.models import Role, Token, User, utcnow

_hasher = PasswordHasher()
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,39}$")
MIN_PASSWORD = 8
# Verified against when the username does not exist, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is making a request: what handlers and services need to know, nothing secret."""

    id: int
    username: str
    role: Role


def _viewer(user: User) -> Viewer:
    assert user.id is not None
    return Viewer(id=user.id, username=user.username, role=Role(user.role))


def username_key(username: str) -> str:
    """Usernames are unique regardless of case, so 'Ada' cannot pose as 'ada' on a board."""
    return username.casefold()


def check_credentials_shape(username: str, password: str) -> None:
    if not USERNAME.match(username):
        raise BadRequest(
            "username: expected 3 to 40 characters, letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"password: expected at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise BadRequest("password: expected at most 1024 characters")


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    role: Role = Role.PARTICIPANT,
    email: str | None = None,
) -> Viewer:
    check_credentials_shape(username, password)
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    user = User(
        username=username,
        username_key=username_key(username),
        password_hash=password_hash,
        role=role,
        email=email,
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"username {username!r} is already taken") from None
    return _viewer(user)


async def set_password_and_role(session: AsyncSession, *, username: str, password: str, role: Role) -> Viewer:
    """For operators: create the user, or update the password and role of an existing one."""
    user = (await session.exec(select(User).where(User.username_key == username_key(username)))).first()
    if user is None:
        return await create_user(session, username=username, password=password, role=role)
    check_credentials_shape(username, password)
    user.password_hash = await asyncio.to_thread(_hasher.hash, password)
    user.role = role
    await session.commit()
    return _viewer(user)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(session: AsyncSession, *, username: str, password: str, ttl: timedelta) -> str:
    user = (await session.exec(select(User).where(User.username_key == username_key(username)))).first()
    stored = user.password_hash if user else _DUMMY_HASH
    try:
        await asyncio.to_thread(_hasher.verify, stored, password)
    except (VerificationError, InvalidHashError):
        raise Unauthenticated("wrong username or password") from None
    if user is None:
        raise Unauthenticated("wrong username or password")
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    session.add(Token(user_id=user.id, token_hash=_digest(token), expires_at=utcnow() + ttl))
    await session.commit()
    return token


async def viewer_for_token(session: AsyncSession, token: str) -> Viewer | None:
    row = (
        await session.exec(
            select(User)
            .join(Token, Token.user_id == User.id)  # type: ignore[arg-type]
            .where(Token.token_hash == _digest(token), Token.expires_at > utcnow())
        )
    ).first()
    return _viewer(row) if row else None
