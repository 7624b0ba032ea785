"""Invite codes are typed on command lines: none may read as an option."""

from server.services.teams import INVITE_CODE, INVITE_LENGTH, new_invite_code


def test_invite_codes_are_letters_and_digits_only() -> None:
    codes = {new_invite_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == INVITE_LENGTH and code.isalnum() and code.isascii()
        assert INVITE_CODE.match(code)
