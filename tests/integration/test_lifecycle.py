"""A contest run entirely over the API by its staff: bundle zip → draft → publish → close → reveal,
the staff of one challenge having no rights on another, edits, deletion, the bundle round trip,
and the audit log of it all."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import yaml
from litestar.testing import AsyncTestClient

from challenges.bundle import load_bundle
from core.models import Role, StaffRole
from core.settings import Settings
from tests.conftest import EXAMPLES
from tests.helpers import csv_bytes, drain_queue, load_challenge, login, make_staff, make_user, upload
from tests.integration.test_submissions import tumour_predictions

TUMOUR = EXAMPLES / "tumour-detection"
SLUG = "tumour-detection"
OTHER = "dyslexia-gaze"


def bundle_zip(folder: Path, *, inside: str | None = "bundle", **changes: object) -> bytes:
    """The folder as a zip, as an organiser would make it (by default inside one top folder), with
    top-level manifest fields changed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = path.relative_to(folder).as_posix()
                data = path.read_bytes()
                if name == "challenge.yaml" and changes:
                    manifest = yaml.safe_load(data)
                    manifest.update(changes)
                    data = yaml.safe_dump(manifest).encode()
                archive.writestr(f"{inside}/{name}" if inside else name, data)
    return buffer.getvalue()


async def create(client: AsyncTestClient, headers: dict[str, str], data: bytes) -> object:
    return await client.post(
        "/api/challenges",
        files={"bundle": ("bundle.zip", io.BytesIO(data), "application/zip")},
        headers=headers,
    )


async def create_reported(
    client: AsyncTestClient, headers: dict[str, str], data: bytes, expected: tuple[str, ...]
) -> str:
    """Create a challenge from a foreign bundle: its slug, once its import report says each of `expected`."""
    created = await create(client, headers, data)
    assert created.status_code == 201, created.text  # type: ignore[attr-defined]
    report = "\n".join(created.json()["import_report"])  # type: ignore[attr-defined]
    for line in expected:
        assert line in report, (line, report)
    return str(created.json()["slug"])  # type: ignore[attr-defined]


async def organiser(settings: Settings, client: AsyncTestClient, name: str = "olga") -> dict[str, str]:
    await make_user(settings, name, Role.ORGANISER)
    return await login(client, name, register=False)


async def test_a_contest_from_bundle_to_reveal_over_the_api(
    settings: Settings, client: AsyncTestClient
) -> None:
    olga = await organiser(settings, client)
    created = await create(client, olga, bundle_zip(TUMOUR))
    assert created.status_code == 201, created.text
    assert created.json() == {
        "slug": SLUG,
        "state": "draft",
        "title": created.json()["title"],
        "url": f"/c/{SLUG}",
        "import_report": [],  # riality's own bundle: nothing to report
    }

    ada = await login(client, "ada")
    for who in (None, ada):  # a draft does not exist for the public
        assert SLUG not in [c["slug"] for c in (await client.get("/api/challenges", headers=who)).json()]
        assert (await client.get(f"/api/challenges/{SLUG}", headers=who)).status_code == 404
        assert (await client.get(f"/api/challenges/{SLUG}/leaderboard", headers=who)).status_code == 404
        assert (await client.get(f"/api/challenges/{SLUG}/files/test.csv", headers=who)).status_code == 404
    assert (await upload(client, ada, SLUG, b"id,diagnosis\n")).status_code == 404
    assert (await client.get(f"/api/challenges/{SLUG}", headers=olga)).json()["state"] == "draft"

    assert (await client.post(f"/api/challenges/{SLUG}/publish", headers=ada)).status_code == 404
    published = await client.post(f"/api/challenges/{SLUG}/publish", headers=olga)
    assert published.status_code == 200 and published.json()["state"] == "published"
    assert (await client.post(f"/api/challenges/{SLUG}/publish", headers=olga)).status_code == 409

    sent = await upload(client, ada, SLUG, csv_bytes(tumour_predictions()[0]))
    assert sent.status_code == 202, sent.text
    await drain_queue(settings)
    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    judy = await login(client, "judy", register=False)
    private = f"/api/challenges/{SLUG}/leaderboard?board=private"

    assert (
        await client.post(f"/api/challenges/{SLUG}/reveal", headers=olga)
    ).status_code == 409  # not closed
    assert (
        await client.post(f"/api/challenges/{SLUG}/close", headers=judy)
    ).status_code == 403  # judges judge
    closed = await client.post(f"/api/challenges/{SLUG}/close", headers=olga)
    assert (
        closed.status_code == 200
        and closed.json()["state"] == "closed"
        and closed.json()["status"] == "closed"
    )
    refused = await upload(client, ada, SLUG, csv_bytes(tumour_predictions()[0]))
    assert refused.status_code == 403 and "closed for submissions" in refused.json()["detail"]
    for who in (None, ada):
        assert (await client.get(private, headers=who)).status_code == 404
    judged = await client.get(private, headers=judy)
    assert judged.status_code == 200 and [e["team"] for e in judged.json()["entries"]] == ["ada"]

    revealed = await client.post(f"/api/challenges/{SLUG}/reveal", headers=olga)
    assert revealed.status_code == 200 and revealed.json()["state"] == "revealed"
    for who in (None, ada):
        board = await client.get(private, headers=who)
        assert board.status_code == 200 and board.json()["entries"][0]["team"] == "ada"
    assert (await client.get(f"/api/submissions/{sent.json()['id']}", headers=ada)).json()[
        "private_score"
    ] is not None

    actions = [e["action"] for e in (await client.get(f"/api/challenges/{SLUG}/audit", headers=judy)).json()]
    assert actions == [
        "challenge.revealed",
        "challenge.closed",
        "staff.set",
        "challenge.published",
        "challenge.create",
    ]


async def test_an_invalid_bundle_reports_every_problem_and_keeps_nothing(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    olga = await organiser(settings, client)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "challenge.yaml").write_text(
        yaml.safe_dump(
            {
                "slug": "broken-one",
                "title": "Broken",
                "metric": "auc",
                "target_column": "y",
                "limits": {"per_day": 0},
                "data": {"test_features": "data/test.csv", "test_labels": "../labels.csv"},
            }
        )
    )
    refused = await create(client, olga, bundle_zip(broken))
    assert refused.status_code == 422
    problems = {p["path"]: p["message"] for p in refused.json()["problems"]}
    assert set(problems) == {"metric", "limits.per_day", "data.test_features", "data.test_labels"}
    assert "unknown metric 'auc'" in problems["metric"]
    assert "not found in the bundle" in problems["data.test_features"]
    assert (await client.get("/api/challenges/broken-one", headers=olga)).status_code == 404
    assert (await client.get("/api/challenges", headers=olga)).json() == []


async def test_an_unsafe_zip_is_refused_before_anything_is_unpacked(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    olga = await organiser(settings, client)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../evil.py", b"x")
    refused = await create(client, olga, buffer.getvalue())
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["path"] == "bundle" and "'..' is not allowed" in refused.text
    not_zip = await create(client, olga, b"PK\x03\x04 not really")
    assert not_zip.status_code == 422 and "not a readable zip archive" in not_zip.text


async def test_only_organisers_create_challenges_and_slugs_are_unique(
    settings: Settings, client: AsyncTestClient
) -> None:
    ada = await login(client, "ada")
    refused = await create(client, ada, bundle_zip(TUMOUR))
    assert refused.status_code == 403 and "only organisers create challenges" in refused.json()["detail"]
    olga = await organiser(settings, client)
    assert (await create(client, olga, bundle_zip(TUMOUR, inside=None))).status_code == 201
    taken = await create(client, await organiser(settings, client, "oscar"), bundle_zip(TUMOUR))
    assert taken.status_code == 409 and "slug: 'tumour-detection' is taken" in taken.json()["detail"]


async def test_staff_of_one_challenge_have_no_rights_on_another(
    settings: Settings, client: AsyncTestClient
) -> None:
    """The staff matrix on every staff route: organiser and judge of A, against B."""
    await load_challenge(settings, TUMOUR)
    await load_challenge(settings, EXAMPLES / OTHER)
    await make_staff(settings, "olga", SLUG, StaffRole.ORGANISER)
    await make_staff(settings, "judy", SLUG, StaffRole.JUDGE)
    olga, judy = await login(client, "olga", register=False), await login(client, "judy", register=False)
    ada = await login(client, "ada")
    reads = ["staff", "audit", "bundle", "leaderboard?board=private"]
    writes = [("post", "close"), ("post", "publish"), ("post", "reveal"), ("delete", "staff/olga")]
    for who in (olga, judy):
        for path in reads:
            assert (await client.get(f"/api/challenges/{SLUG}/{path}", headers=who)).status_code == 200, path
            assert (await client.get(f"/api/challenges/{OTHER}/{path}", headers=who)).status_code == 404, path
        for method, path in writes:
            response = await client.request(method.upper(), f"/api/challenges/{OTHER}/{path}", headers=who)
            assert response.status_code == 404, (method, path)
        assert (
            await client.patch(f"/api/challenges/{OTHER}", json={"title": "x"}, headers=who)
        ).status_code == 404
        assert (await client.delete(f"/api/challenges/{OTHER}", headers=who)).status_code == 404
        added = await client.post(
            f"/api/challenges/{OTHER}/staff", json={"username": "ada", "role": "judge"}, headers=who
        )
        assert added.status_code == 404
    for who in (None, ada):
        for path in reads:
            assert (await client.get(f"/api/challenges/{SLUG}/{path}", headers=who)).status_code in (
                401,
                404,
            ), path
    # A judge reads but does not run the challenge.
    assert (
        await client.patch(f"/api/challenges/{SLUG}", json={"title": "x"}, headers=judy)
    ).status_code == 403
    made = await client.post(
        f"/api/challenges/{SLUG}/staff", json={"username": "ada", "role": "judge"}, headers=judy
    )
    assert made.status_code == 403
    # An admin is staff everywhere.
    await make_user(settings, "root", Role.ADMIN)
    root = await login(client, "root", register=False)
    assert (await client.get(f"/api/challenges/{OTHER}/audit", headers=root)).status_code == 200


async def test_organisers_manage_the_staff_list(settings: Settings, client: AsyncTestClient) -> None:
    olga = await organiser(settings, client)
    assert (await create(client, olga, bundle_zip(TUMOUR))).status_code == 201
    await login(client, "judy")
    added = await client.post(
        f"/api/challenges/{SLUG}/staff", json={"username": "JUDY", "role": "judge"}, headers=olga
    )
    assert added.status_code == 200 and added.json()["username"] == "judy" and added.json()["role"] == "judge"
    unknown = await client.post(
        f"/api/challenges/{SLUG}/staff", json={"username": "nobody", "role": "judge"}, headers=olga
    )
    assert unknown.status_code == 400 and "no user 'nobody'" in unknown.json()["detail"]
    bad_role = await client.post(
        f"/api/challenges/{SLUG}/staff", json={"username": "judy", "role": "king"}, headers=olga
    )
    assert bad_role.status_code == 400
    staff = (await client.get(f"/api/challenges/{SLUG}/staff", headers=olga)).json()
    assert [(s["username"], s["role"]) for s in staff] == [("olga", "organiser"), ("judy", "judge")]
    last = await client.delete(f"/api/challenges/{SLUG}/staff/olga", headers=olga)
    assert last.status_code == 409 and "last organiser" in last.json()["detail"]
    assert (await client.delete(f"/api/challenges/{SLUG}/staff/judy", headers=olga)).status_code == 204
    judy = await login(client, "judy", register=False)
    assert (
        await client.get(f"/api/challenges/{SLUG}", headers=judy)
    ).status_code == 404  # a draft again, to her
    audit = (await client.get(f"/api/challenges/{SLUG}/audit", headers=olga)).json()
    assert [(e["action"], e["target"], e["before"], e["after"]) for e in audit[:2]] == [
        ("staff.remove", "judy", {"role": "judge"}, None),
        ("staff.set", "judy", None, {"role": "judge"}),
    ]


async def test_edits_are_validated_like_the_manifest_and_audited(
    settings: Settings, client: AsyncTestClient
) -> None:
    olga = await organiser(settings, client)
    assert (await create(client, olga, bundle_zip(TUMOUR))).status_code == 201
    bad = await client.patch(
        f"/api/challenges/{SLUG}",
        json={"limits": {"per_day": 0, "total": "many"}, "schedule": {"closes": "2020-01-01T00:00:00"}},
        headers=olga,
    )
    assert bad.status_code == 422
    assert {p["path"] for p in bad.json()["problems"]} == {
        "limits.per_day",
        "limits.total",
        "schedule.closes",
    }
    unknown = await client.patch(f"/api/challenges/{SLUG}", json={"metric": "accuracy"}, headers=olga)
    assert unknown.status_code == 400
    good = await client.patch(
        f"/api/challenges/{SLUG}",
        json={"title": "Tumours", "limits": {"per_day": 3}, "schedule": {"reveal": "2031-01-01T00:00:00Z"}},
        headers=olga,
    )
    assert good.status_code == 200, good.text
    assert good.json()["title"] == "Tumours" and good.json()["limits"]["per_day"] == 3
    assert good.json()["limits"]["total"] == 200 and good.json()["reveal"] == "2031-01-01T00:00:00Z"
    event = (await client.get(f"/api/challenges/{SLUG}/audit", headers=olga)).json()[0]
    assert event["action"] == "challenge.edit" and event["target"] == "limits, schedule, title"
    assert event["before"]["limits"]["per_day"] == 20 and event["after"]["limits"]["per_day"] == 3


async def test_the_bundle_downloads_as_a_zip_that_loads_back(
    settings: Settings, client: AsyncTestClient, tmp_path: Path
) -> None:
    olga = await organiser(settings, client)
    assert (await create(client, olga, bundle_zip(TUMOUR))).status_code == 201
    response = await client.get(f"/api/challenges/{SLUG}/bundle", headers=olga)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        archive.extractall(tmp_path / "back")
    again, original = load_bundle(tmp_path / "back"), load_bundle(TUMOUR)
    assert again.spec == original.spec
    assert {f.role: f.data for f in again.files} == {f.role: f.data for f in original.files}
    assert (
        await client.get(f"/api/challenges/{SLUG}/bundle", headers=await login(client, "ada"))
    ).status_code == 404


async def test_a_draft_is_deleted_but_not_a_contest_with_entries(
    settings: Settings, client: AsyncTestClient
) -> None:
    olga = await organiser(settings, client)
    assert (await create(client, olga, bundle_zip(TUMOUR))).status_code == 201
    assert (await client.delete(f"/api/challenges/{SLUG}", headers=olga)).status_code == 204
    assert (await client.get(f"/api/challenges/{SLUG}", headers=olga)).status_code == 404
    assert (await create(client, olga, bundle_zip(TUMOUR))).status_code == 201
    await client.post(f"/api/challenges/{SLUG}/publish", headers=olga)
    ada = await login(client, "ada")
    assert (await upload(client, ada, SLUG, csv_bytes(tumour_predictions()[0]))).status_code == 202
    refused = await client.delete(f"/api/challenges/{SLUG}", headers=olga)
    assert refused.status_code == 409 and "1 participant submission(s)" in refused.json()["detail"]


async def test_staff_tests_never_reach_a_board(settings: Settings, client: AsyncTestClient) -> None:
    olga = await organiser(settings, client)
    assert (await create(client, olga, bundle_zip(TUMOUR))).status_code == 201
    tried = await upload(
        client, olga, SLUG, csv_bytes(tumour_predictions()[0])
    )  # in the draft: a pipeline test
    assert tried.status_code == 202, tried.text
    await client.post(f"/api/challenges/{SLUG}/publish", headers=olga)
    ada = await login(client, "ada")
    assert (await upload(client, ada, SLUG, csv_bytes(tumour_predictions()[0]))).status_code == 202
    await drain_queue(settings)
    assert (await client.get(f"/api/submissions/{tried.json()['id']}", headers=olga)).json()[
        "status"
    ] == "scored"
    for board in ("public", "private"):
        entries = (
            await client.get(f"/api/challenges/{SLUG}/leaderboard?board={board}", headers=olga)
        ).json()["entries"]
        assert [e["team"] for e in entries] == ["ada"]


async def test_the_quota_cannot_be_reset_by_team_hopping(settings: Settings, client: AsyncTestClient) -> None:
    olga = await organiser(settings, client)
    assert (await create(client, olga, bundle_zip(TUMOUR))).status_code == 201
    await client.post(f"/api/challenges/{SLUG}/publish", headers=olga)
    assert (
        await client.patch(f"/api/challenges/{SLUG}", json={"limits": {"per_day": 2}}, headers=olga)
    ).status_code == 200
    ada = await login(client, "ada")
    data = csv_bytes(tumour_predictions()[0])
    for _ in range(2):
        assert (await upload(client, ada, SLUG, data)).status_code == 202
    assert (await upload(client, ada, SLUG, data)).status_code == 429
    assert (await client.delete(f"/api/challenges/{SLUG}/team/members/me", headers=ada)).status_code == 204
    assert (
        await client.post(f"/api/challenges/{SLUG}/teams", json={"name": "fresh start"}, headers=ada)
    ).status_code == 201
    hopped = await upload(client, ada, SLUG, data)
    assert hopped.status_code == 429 and "submissions for today" in hopped.json()["detail"]


async def test_a_new_challenge_never_shows_a_deleted_ones_audit_trail(
    settings: Settings, client: AsyncTestClient
) -> None:
    olga, oscar = await organiser(settings, client), await organiser(settings, client, "oscar")
    assert (await create(client, olga, bundle_zip(TUMOUR))).status_code == 201
    await client.patch(f"/api/challenges/{SLUG}", json={"title": "Olga's secret project"}, headers=olga)
    assert (await client.delete(f"/api/challenges/{SLUG}", headers=olga)).status_code == 204
    # SQLite hands the freed id to the next challenge: its log must start with its own creation.
    assert (await create(client, oscar, bundle_zip(TUMOUR, slug="oscars-contest"))).status_code == 201
    log = (await client.get("/api/challenges/oscars-contest/audit", headers=oscar)).json()
    assert [(e["actor"], e["action"]) for e in log] == [("oscar", "challenge.create")]
    assert "secret" not in str(log)


async def test_an_admin_makes_an_organiser_without_a_shell(
    settings: Settings, client: AsyncTestClient
) -> None:
    await make_user(settings, "root", Role.ADMIN)
    root, ada = await login(client, "root", register=False), await login(client, "ada")
    assert (await create(client, ada, bundle_zip(TUMOUR))).status_code == 403
    refused = await client.put("/api/users/ada/role", json={"role": "organiser"}, headers=ada)
    assert refused.status_code == 403 and "only admins" in refused.json()["detail"]
    made = await client.put("/api/users/ADA/role", json={"role": "organiser"}, headers=root)
    assert made.status_code == 200 and made.json()["role"] == "organiser"
    assert (await create(client, ada, bundle_zip(TUMOUR))).status_code == 201
    assert (
        await client.put("/api/users/nobody/role", json={"role": "organiser"}, headers=root)
    ).status_code == 404
    assert (await client.put("/api/users/ada/role", json={"role": "judge"}, headers=root)).status_code == 400
    selfish = await client.put("/api/users/root/role", json={"role": "participant"}, headers=root)
    assert selfish.status_code == 409


async def test_a_drafts_pages_reveal_nothing_of_it(settings: Settings, client: AsyncTestClient) -> None:
    olga = await organiser(settings, client)
    secret = "Our unannounced tumour contest"
    assert (await create(client, olga, bundle_zip(TUMOUR, title=secret))).status_code == 201
    for path in (f"/c/{SLUG}", f"/c/{SLUG}/screen", f"/c/{SLUG}/team", f"/c/{SLUG}/final", "/"):
        response = await client.get(path)
        assert secret not in response.text, path
        assert response.status_code == (200 if path == "/" else 404), path
    for path in (f"/c/{SLUG}/judge", f"/c/{SLUG}/admin"):  # shells that its staff's token fills
        response = await client.get(path)
        assert response.status_code == 200 and secret not in response.text, path
