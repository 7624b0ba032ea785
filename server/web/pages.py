"""The pages: home, challenge (overview, data, rules, live board), full-screen board, sign-in and registration."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Controller, MediaType, Request, Response, get
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath
from markdown_it import MarkdownIt
from sqlmodel.ext.asyncio.session import AsyncSession

from challenges.spec import SLUG_PATTERN, Kind
from core.challenges import current_phase, spec_of
from core.models import ChallengeState, utcnow
from scoring.progression import progression
from scoring.ranking import Board, BoardEntry
from server.api.boards import current_board
from server.api.challenges import challenge_status, groups_out, phases_out
from server.live import keys
from server.services import boards, challenges, environments
from server.services.chain import chain_head
from server.services.staff import NOBODY
from server.web.chart import progression_svg
from server.web.i18n import Translator, negotiate

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_markdown = MarkdownIt("commonmark", {"html": False})  # organisers write Markdown; raw HTML is not rendered


def _left(seconds: float, t: Translator) -> str:
    minutes = int(seconds // 60)
    if minutes >= 48 * 60:
        return t("time.days", n=minutes // (24 * 60))
    if minutes >= 60:
        return t("time.hours", n=minutes // 60)
    return t("time.minutes", n=max(1, minutes))


def _when(spec: Any, t: Translator, now: datetime) -> str:
    schedule = spec.schedule
    if schedule.opens and now < schedule.opens:
        return t("time.opens_in", left=_left((schedule.opens - now).total_seconds(), t))
    if schedule.closes is None:
        return t("time.always_open")
    if now >= schedule.closes:
        return t("time.closed_at", when=schedule.closes.strftime("%Y-%m-%d %H:%M UTC"))
    return t("time.closes_in", left=_left((schedule.closes - now).total_seconds(), t))


def _page(request: Request, template: str, **context: Any) -> Response[str]:
    t = _translator(request)
    html = _env.get_template(template).render(lang=t.lang, t=t, **context)
    chosen = request.query_params.get("lang")  # an explicit choice is remembered
    cookies = [Cookie(key="lang", value=t.lang, max_age=365 * 24 * 3600, samesite="lax")] if chosen else []
    return Response(
        html,
        media_type=MediaType.HTML,
        cookies=cookies,
        headers={"Content-Language": t.lang},
    )


def _translator(request: Request) -> Translator:
    return Translator(
        negotiate(
            request.query_params.get("lang"),
            request.cookies.get("lang"),
            request.headers.get("accept-language"),
        )
    )


async def _script_page(
    request: Request, session: AsyncSession, slug: str, template: str, **context: Any
) -> Response[str]:
    """A page whose content the browser fetches with the signed-in user's token (team, judges)."""
    challenge = await challenges.get_challenge(session, slug)
    _, spec = current_phase(challenge, utcnow())  # what the current phase takes
    return _page(request, template, slug=slug, title=challenge.title, spec=spec, **context)


SCREEN_ROWS = 10  # rows on the venue's screen at once (fits 1024×768)
SCREEN_PAGES = 10  # pages it turns through: the top 100


def final_rows(public: list[BoardEntry], private: list[BoardEntry]) -> list[dict[str, Any]]:
    """The private board's entries with each team's move from its public rank (None: new on it)."""
    public_rank = {e.team_id: e.rank for e in public}
    return [
        {"entry": e, "move": None if e.team_id not in public_rank else public_rank[e.team_id] - e.rank}
        for e in private
    ]


CHART_TEAMS = 5  # teams drawn on the progression chart: the top of the public board
BOARD_TOP = 100  # entries on the challenge page unless every team is asked for

# What the judges' view shows of a submission, in this order (labels from the catalogs).
JUDGE_FIELDS = (
    "id", "team", "kind", "status", "filename", "note", "final", "public_score", "private_score",
    "wall_s", "cpu_s", "peak_memory_mb", "created_at", "metrics", "logs",
    "scorer_logs",
)  # fmt: skip


class PageController(Controller):
    include_in_schema = False

    @get("/")
    async def home(self, request: Request, db_session: NamedDependency[AsyncSession]) -> Response[str]:
        t, now = _translator(request), utcnow()
        cards = []
        for challenge in await challenges.list_challenges(db_session):
            spec = spec_of(challenge)
            cards.append(
                {
                    "slug": challenge.slug,
                    "title": challenge.title,
                    "status": challenge_status(challenge, spec),
                    "when": _when(spec, t, now),
                    "metric": spec.metric,
                    "higher": spec.primary_metric.higher_is_better,
                }
            )
        return _page(request, "home.html", challenges=cards)

    async def _board_context(self, request: Request, session: AsyncSession, slug: str) -> dict[str, Any]:
        challenge = await challenges.get_challenge(session, slug)
        whole = spec_of(challenge)
        phase = boards.board_phase(challenge, request.query_params.get("phase"))
        spec = whole.phase_spec(phase)  # the page shows one phase: its board, data, limits
        board = await current_board(request.app.state, challenge, phase, Board.PUBLIC)
        t = _translator(request)
        return {
            "slug": slug,
            "title": challenge.title,
            "board": board,
            "spec": spec,
            "phase": phase,
            "phases": phases_out(whole, utcnow()),
            "challenge": challenge,
            "status": challenge_status(challenge, whole),
            "when": _when(whole, t, utcnow()),
            # Model and code runs have a cost to show beside their score; prediction files have none.
            "efficiency": any(kind in spec.kinds for kind in (Kind.MODEL, Kind.CODE)),
            "groups": spec.groups is not None,
            "uncertainty": spec.has_uncertainty,
        }

    @get("/c/{slug:str}")
    async def challenge(
        self, request: Request, db_session: NamedDependency[AsyncSession], slug: FromPath[str]
    ) -> Response[str]:
        context = await self._board_context(request, db_session, slug)
        spec, board = context["spec"], context["board"]
        top = 0 if request.query_params.get("all") == "1" else BOARD_TOP  # 0: every team
        query = f"?phase={context['phase']}" if len(context["phases"]) > 1 else ""  # as the API lists them
        files = [
            {"name": f.name, "size": f.size, "url": f"/api/challenges/{slug}/files/{f.name}{query}"}
            for f in sorted(
                await challenges.public_files(
                    db_session, context["challenge"], context["phase"], staff=False
                ),
                key=lambda f: f.name,
            )
        ]
        return _page(
            request,
            "challenge.html",
            description_html=_markdown.render(spec.description),
            files=files,
            metric=spec.metric,
            metric_description=spec.primary_metric.description,  # a custom scorer's; built-ins are translated
            higher=spec.primary_metric.higher_is_better,
            limits=spec.limits,
            group_table=groups_out(context["challenge"], spec),
            ladder=spec.ladder,
            program_columns=[c.label or c.key for c in spec.program.columns] if spec.program else [],
            kinds=[k.value for k in spec.kinds],
            probability_columns=[c for c in context["challenge"].columns if c.startswith("proba_")],
            environment=await environments.environment_of(db_session, context["challenge"], NOBODY),
            record=await chain_head(db_session, context["challenge"].id),
            top=top,
            teams_ranked=len(board),
            entries=board.rows(0, top or None),
            **context,
        )

    @get("/c/{slug:str}/progress.svg")
    async def progress_chart(
        self, request: Request, db_session: NamedDependency[AsyncSession], slug: FromPath[str]
    ) -> Response[str]:
        challenge = await challenges.get_challenge(db_session, slug)
        phase = boards.board_phase(challenge, request.query_params.get("phase"))
        spec = spec_of(challenge).phase_spec(phase)
        t = _translator(request)
        state = request.app.state

        async def draw() -> str:
            board = await current_board(state, challenge, phase, Board.PUBLIC)
            leaders = [entry.team_id for entry in board.page(0, CHART_TEAMS)]
            async with state.sessions() as session:
                history = await boards.score_history(
                    session, challenge, phase, leaders, released_only=spec.ladder
                )
            series = progression(
                history, higher_is_better=spec.primary_metric.higher_is_better, top=CHART_TEAMS
            )
            return progression_svg(series, title=t("chart.title"), now=utcnow(), empty_text=t("chart.empty"))

        # Every open challenge page asks for the chart again after each change: draw it once per change.
        svg = await state.hub.render(slug, keys.chart(challenge, t.lang, phase), draw)
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-cache"})

    @get("/c/{slug:str}/screen")
    async def screen(
        self, request: Request, db_session: NamedDependency[AsyncSession], slug: FromPath[str]
    ) -> Response[str]:
        """The venue's screen: the top 10, then the next pages in turn; `?board=private` once revealed
        (the ceremony)."""
        context = await self._board_context(request, db_session, slug)
        board_name = Board.PRIVATE if request.query_params.get("board") == "private" else Board.PUBLIC
        if board_name is Board.PRIVATE:
            boards.ensure_visible(context["challenge"], Board.PRIVATE, NOBODY)
            context["board"] = await current_board(
                request.app.state, context["challenge"], context["phase"], Board.PRIVATE
            )
        spec = context["spec"]
        # A projector shows ranks and scores, large, and the tie bands; the page has the rest.
        context["efficiency"] = context["groups"] = context["uncertainty"] = False
        return _page(
            request,
            "screen.html",
            top=SCREEN_ROWS,
            pages=SCREEN_PAGES,
            board_name=board_name.value,
            entries=context["board"].rows(0, SCREEN_ROWS),
            teams_ranked=len(context["board"]),
            metric=spec.metric,
            higher=spec.primary_metric.higher_is_better,
            closes=spec.schedule.closes if context["status"] != "closed" else None,
            **context,
        )

    @get("/c/{slug:str}/final")
    async def final(
        self, request: Request, db_session: NamedDependency[AsyncSession], slug: FromPath[str]
    ) -> Response[str]:
        """After the reveal: both boards side by side, with each team's move from public to private."""
        context = await self._board_context(request, db_session, slug)
        challenge = context["challenge"]
        boards.ensure_visible(challenge, Board.PRIVATE, NOBODY)  # 404 until revealed
        private = await current_board(request.app.state, challenge, context["phase"], Board.PRIVATE)
        public = context["board"]
        rows = final_rows(public.page(), private.page())
        spec = context["spec"]
        return _page(
            request,
            "final.html",
            rows=rows,
            public_entries=public.page(),
            metric=spec.metric,
            higher=spec.primary_metric.higher_is_better,
            **context,
        )

    @get("/account")
    async def account(self, request: Request) -> Response[str]:
        return _page(request, "account.html")

    @get("/organise")
    async def organise(self, request: Request) -> Response[str]:
        return _page(request, "organise.html")

    @get("/c/{slug:str}/admin")
    async def admin(self, request: Request, slug: FromPath[str]) -> Response[str]:
        # Drafts too: the page is filled by its script with the organiser's token, and says so if not.
        return _page(request, "admin.html", slug=slug if re.match(SLUG_PATTERN, slug) else "")

    @get("/c/{slug:str}/team")
    async def team(
        self, request: Request, db_session: NamedDependency[AsyncSession], slug: FromPath[str]
    ) -> Response[str]:
        return await _script_page(request, db_session, slug, "team.html")

    @get("/c/{slug:str}/judge")
    async def judge(
        self, request: Request, db_session: NamedDependency[AsyncSession], slug: FromPath[str]
    ) -> Response[str]:
        t = _translator(request)
        fields = [(name, t(f"judge.field.{name}")) for name in JUDGE_FIELDS]  # pairs: tojson sorts keys
        challenge = await challenges.find_challenge(db_session, slug)
        if challenge is not None and challenge.state == ChallengeState.DRAFT:
            # A draft's judges review it too; the page says nothing of it (not even its title) until
            # its script has shown the token belongs to its staff.
            return _page(request, "judge.html", slug=slug, title=slug, fields=fields)
        return await _script_page(request, db_session, slug, "judge.html", fields=fields)

    @get("/login")
    async def login(self, request: Request) -> Response[str]:
        return _page(request, "login.html", mode="login")

    @get("/register")
    async def register(self, request: Request) -> Response[str]:
        return _page(request, "login.html", mode="register")
