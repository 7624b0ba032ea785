"""Accounts: registration, password checks (argon2) and opaque bearer tokens stored as hashes."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import Role, Token, TokenScope, User, utcnow
from server.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthenticated
from server.services.passwords import Passwords
from server.services.throttle import Rule, Throttle

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,39}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
PASSWORDS = Passwords()  # for operator commands and tests; the API builds its own from Settings


@dataclass(frozen=True, slots=True)
class SignInGuard:
    """What stands between a guesser and the password hashes: attempt limits and a bounded hasher."""

    passwords: Passwords
    throttle: Throttle
    per_account: Rule  # failed sign-ins per username
    per_address: Rule  # failed sign-ins per client address
    registrations: Rule  # registrations per client address


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is making a request: what handlers and services need to know, nothing secret."""

    id: int
    username: str
    role: Role
    scope: TokenScope = TokenScope.FULL  # what the token it came with may do


def _viewer(user: User, scope: TokenScope = TokenScope.FULL) -> Viewer:
    assert user.id is not None
    return Viewer(id=user.id, username=user.username, role=Role(user.role), scope=scope)


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
    if len(password) > MAX_PASSWORD:
        raise BadRequest(f"password: expected at most {MAX_PASSWORD} characters")


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    role: Role = Role.PARTICIPANT,
    email: str | None = None,
    passwords: Passwords = PASSWORDS,
) -> Viewer:
    check_credentials_shape(username, password)
    password_hash = await passwords.hash(password)
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


async def register(
    session: AsyncSession,
    guard: SignInGuard,
    address: str,
    *,
    username: str,
    password: str,
    email: str | None,
) -> Viewer:
    """Self-service registration, limited per client address."""
    await guard.throttle.take(guard.registrations, address)
    return await create_user(
        session, username=username, password=password, email=email, passwords=guard.passwords
    )


async def revoke_all_tokens(session: AsyncSession, user_id: int) -> None:
    """Sign the user out everywhere (in the caller's transaction)."""
    await session.exec(delete(Token).where(col(Token.user_id) == user_id))  # type: ignore[call-overload]


async def find_user(session: AsyncSession, username: str) -> User | None:
    """The user by name, whatever its case; a name no account can have is not looked up (PostgreSQL
    refuses a NUL in text)."""
    if not 0 < len(username) <= 40 or "\x00" in username:
        return None
    return (await session.exec(select(User).where(User.username_key == username_key(username)))).first()


async def set_password_and_role(
    session: AsyncSession, *, username: str, password: str, role: Role, passwords: Passwords = PASSWORDS
) -> Viewer:
    """For operators: create the user, or update the password and role of an existing one.

    A new password signs the user out everywhere: tokens issued under the old one stop working.
    """
    user = await find_user(session, username)
    if user is None:
        return await create_user(
            session, username=username, password=password, role=role, passwords=passwords
        )
    check_credentials_shape(username, password)
    user.password_hash = await passwords.hash(password)
    user.role = role
    assert user.id is not None
    await revoke_all_tokens(session, user.id)
    await session.commit()
    return _viewer(user)


async def set_role(session: AsyncSession, admin: Viewer, username: str, role: Role) -> Viewer:
    """An admin grants a platform role (organiser: may create challenges), from the browser or the API."""
    if admin.role is not Role.ADMIN:
        raise Forbidden("only admins change platform roles")
    user = await find_user(session, username)
    if user is None:
        raise NotFound(f"no user {username[:40]!r}")
    if user.id == admin.id and role is not Role.ADMIN:
        raise Conflict("an admin cannot give up their own role; another admin can")
    user.role = role
    await session.commit()
    return _viewer(user)


async def change_password(
    session: AsyncSession, guard: SignInGuard, viewer: Viewer, *, current: str, new: str
) -> None:
    """The user's own change: the current password is checked (and throttled like a sign-in)."""
    await guard.throttle.check(guard.per_account, username_key(viewer.username))
    user = await session.get(User, viewer.id)
    assert user is not None
    stored = user.password_hash
    await session.rollback()  # no connection held while hashing (see issue_token)
    if not await guard.passwords.verify(stored, current):
        await guard.throttle.hit(guard.per_account, username_key(viewer.username))
        raise Unauthenticated("current_password: wrong password")
    check_credentials_shape(viewer.username, new)
    password_hash = await guard.passwords.hash(new)
    await session.exec(update(User).where(col(User.id) == viewer.id).values(password_hash=password_hash))  # type: ignore[call-overload]
    await revoke_all_tokens(session, viewer.id)
    await session.commit()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(
    session: AsyncSession,
    guard: SignInGuard,
    address: str,
    *,
    username: str,
    password: str,
    ttl: timedelta,
) -> str:
    """Sign in. Each attempt is counted before any hashing, as a failure until it succeeds, per account
    and per address (Throttle.reserve): past the address's limit it is refused; past the account's,
    only from addresses that have not failed on it (a guesser cannot lock its owner out), up to a
    ceiling."""
    account = username_key(username)
    reserved = await guard.throttle.reserve(guard.per_account, guard.per_address, account, address)
    user = None
    if USERNAME.match(username):  # a name no account can have is not looked up (nor can hold a NUL)
        user = (await session.exec(select(User).where(User.username_key == account))).first()
    user_id, stored = (user.id, user.password_hash) if user else (None, None)
    # Hand the connection back before hashing: guessers waiting for the hasher must not hold the pool.
    await session.rollback()
    if not await guard.passwords.verify(stored, password) or user_id is None:
        raise Unauthenticated("wrong username or password")  # counted already
    await guard.throttle.settle(reserved)
    token = secrets.token_urlsafe(32)
    session.add(Token(user_id=user_id, token_hash=token_digest(token), expires_at=utcnow() + ttl))
    await session.commit()
    return token


async def revoke_token(session: AsyncSession, token: str) -> None:
    """Sign out: the token stops working at once."""
    await session.exec(delete(Token).where(col(Token.token_hash) == token_digest(token)))  # type: ignore[call-overload]
    await session.commit()


LAST_USE_RESOLUTION = timedelta(minutes=1)  # a token's last use is written at most this often


async def viewer_for_token(session: AsyncSession, token: str) -> Viewer | None:
    """Who the token is, if it is known and not expired; its last use is recorded (to the minute)."""
    now = utcnow()
    row = (
        await session.exec(
            select(User, Token)
            .join(Token, Token.user_id == User.id)  # type: ignore[arg-type]
            .where(
                Token.token_hash == token_digest(token),
                or_(col(Token.expires_at).is_(None), col(Token.expires_at) > now),
            )
        )
    ).first()
    if row is None:
        return None
    user, stored = row
    viewer = _viewer(user, TokenScope(stored.scope))
    if stored.last_used_at is None or stored.last_used_at < now - LAST_USE_RESOLUTION:
        await session.exec(update(Token).where(col(Token.id) == stored.id).values(last_used_at=now))  # type: ignore[call-overload]
        await session.commit()
    return viewer
