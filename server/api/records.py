"""Receipts, the receipts' public key and each challenge's submission record."""

from __future__ import annotations

import base64

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlmodel.ext.asyncio.session import AsyncSession

from core.models import utcnow
from core.receipts import ALGORITHM
from server.api.openapi import errors
from server.api.schemas import ChainOut, ReceiptKeyOut, ReceiptOut
from server.services import challenges, receipts
from server.services.accounts import Viewer


class RecordController(Controller):
    path = "/api"
    tags = ["submissions"]

    @get("/submissions/{submission_id:int}/receipt", responses=errors(400, 401, 404))
    async def receipt(
        self,
        db_session: NamedDependency[AsyncSession],
        state: State,
        current_user: NamedDependency[Viewer],
        submission_id: FromPath[int],
    ) -> ReceiptOut:
        """The submission's signed receipt (its team and the challenge's staff): keep it to prove later
        what the server accepted, when, and where in the challenge's record."""
        signed = await receipts.receipt(db_session, state.receipt_key, current_user, submission_id)
        return ReceiptOut(**signed)

    @get("/keys/receipts")
    async def receipt_key(self, state: State) -> ReceiptKeyOut:
        """The public key that checks every receipt's signature."""
        key = state.receipt_key
        return ReceiptKeyOut(
            ALGORITHM, key.key_id, base64.b64encode(key.public_raw).decode(), key.public_pem()
        )

    @get("/challenges/{slug:str}/chain", responses=errors(401, 404))
    async def chain(
        self,
        db_session: NamedDependency[AsyncSession],
        viewer: NamedDependency[Viewer | None],
        slug: FromPath[str],
    ) -> ChainOut:
        """The challenge's submission record, oldest first (its staff; everyone after the reveal)."""
        challenge = await challenges.get_challenge(db_session, slug, viewer)
        length, head, entries = await receipts.record(db_session, viewer, challenge, utcnow())
        return ChainOut(challenge=slug, length=length, head=head, records=entries)
