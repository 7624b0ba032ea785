"""The app factory: every controller, dependency and error handler is registered here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi.config import OpenAPIConfig
from litestar.static_files import create_static_files_router
from redis.asyncio import Redis
from sqlalchemy.exc import TimeoutError as PoolTimeout

from core.db import create_sessionmaker, engine_for
from core.errors import KernelError
from core.queue import ArqQueue
from core.receipts import load_or_create_key
from core.settings import Settings
from core.storage import BlobStore
from server.api.accounts import AccountController
from server.api.boards import BoardController
from server.api.challenges import ChallengeController
from server.api.deps import provide_current_user, provide_db_session, provide_viewer
from server.api.environments import EnvironmentController
from server.api.errors import (
    app_error_handler,
    database_busy_handler,
    http_error_handler,
    internal_error_handler,
    kernel_error_handler,
)
from server.api.health import health
from server.api.metrics import metrics
from server.api.openapi import finish_schema
from server.api.records import RecordController
from server.api.review import ReviewController
from server.api.staff import StaffController
from server.api.submissions import SubmissionController
from server.api.teams import TeamController
from server.api.tokens import TokenController
from server.errors import AppError
from server.live import BoardHub
from server.services.accounts import SignInGuard
from server.services.passwords import Passwords
from server.services.throttle import Rule, Throttle
from server.web.api_docs import ASSETS_URL, LocalSwaggerUI, swagger_ui_assets
from server.web.pages import PageController
from server.web.security import security_response_headers

STATIC = Path(__file__).parent / "web" / "static"


def sign_in_guard(settings: Settings) -> SignInGuard:
    minutes = "too many {what}; try again in {{minutes}} minute(s)"
    return SignInGuard(
        passwords=Passwords.of(settings),
        throttle=Throttle(Redis.from_url(settings.redis_url)),
        per_account=Rule(
            "login-account",
            settings.login_failures_per_account,
            settings.login_window_s,
            minutes.format(what="failed sign-ins for this account"),
        ),
        per_address=Rule(
            "login-address",
            settings.login_failures_per_address,
            settings.login_window_s,
            minutes.format(what="failed sign-ins from your address"),
        ),
        registrations=Rule(
            "register-address",
            settings.registrations_per_address,
            settings.registration_window_s,
            minutes.format(what="registrations from your address"),
        ),
    )


PING_AFTER_IDLE_S = 2.0


def create_app(settings: Settings) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Connections that sat idle are tested before use (a database restart); busy ones are not:
        # the test is three round trips, a third of an upload's database work in a rush.
        engine = engine_for(settings, ping_after_idle_s=PING_AFTER_IDLE_S)
        app.state.sessions = create_sessionmaker(engine)
        app.state.queue = await ArqQueue.connect(settings.redis_url)
        app.state.hub = BoardHub(settings.redis_url)
        await app.state.hub.start()
        app.state.sign_in = sign_in_guard(settings)
        try:
            yield
        finally:
            await app.state.sign_in.throttle.close()
            app.state.sign_in.passwords.close()
            await app.state.hub.stop()
            await app.state.queue.close()
            await engine.dispose()

    app = Litestar(
        route_handlers=[
            health,
            metrics,
            AccountController,
            ChallengeController,
            TokenController,
            RecordController,
            EnvironmentController,
            TeamController,
            SubmissionController,
            BoardController,
            StaffController,
            ReviewController,
            PageController,
            create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
            create_static_files_router(
                path=ASSETS_URL, directories=[swagger_ui_assets()], include_in_schema=False, name="swagger-ui"
            ),
        ],
        dependencies={
            "db_session": Provide(provide_db_session),
            "viewer": Provide(provide_viewer),
            "current_user": Provide(provide_current_user),
        },
        exception_handlers={
            AppError: app_error_handler,
            KernelError: kernel_error_handler,
            HTTPException: http_error_handler,
            PoolTimeout: database_busy_handler,
            Exception: internal_error_handler,
        },
        lifespan=[lifespan],
        state=State(
            {
                "settings": settings,
                "store": BlobStore(settings.blobs_dir),
                "receipt_key": load_or_create_key(settings.receipt_key_path),
            }
        ),
        request_max_body_size=settings.max_upload_bytes + 64 * 1024,
        openapi_config=OpenAPIConfig(
            title="riality", version="0.1.0", path="/schema", render_plugins=[LocalSwaggerUI()]
        ),
        response_headers=security_response_headers(),
        debug=False,
    )
    finish_schema(app)
    return app
