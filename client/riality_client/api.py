"""The riality API over HTTP, with every error turned into one clear line (ApiError)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from riality_client.config import Target


class ApiError(Exception):
    """What went wrong, in one line: the server's own `detail`, or why it could not be reached."""


class _Counted(httpx.SyncByteStream):
    """A request body that reports each chunk as it is sent (the upload's progress bar); the request
    keeps the Content-Length httpx computed from the file, which the server requires."""

    def __init__(self, stream: Iterable[bytes], total: int, progress: Callable[[int, int], None]) -> None:
        self.stream, self.total, self.progress, self.sent = stream, total, progress, 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.stream:
            self.sent += len(chunk)
            self.progress(self.sent, self.total)
            yield chunk


class Api:
    def __init__(self, target: Target, *, timeout: float = 120) -> None:
        headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
        self.server = target.server
        self.http = httpx.Client(base_url=target.server, headers=headers, timeout=timeout)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.server}: {exc}") from None
        if response.status_code >= 400:
            raise ApiError(_detail(response))
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None}).json()

    def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.request(method, path, json=body)
        return response.json() if response.content else None

    def upload(
        self, slug: str, file: Path, form: dict[str, str], progress: Callable[[int, int], None]
    ) -> dict[str, Any]:
        """Upload a file; `progress(sent, total)` as the request body goes out."""
        with file.open("rb") as handle:
            files = {"file": (file.name, handle, "application/octet-stream")}
            request = self.http.build_request(
                "POST", f"/api/challenges/{slug}/submissions", files=files, data=form
            )
            total = int(request.headers.get("content-length", 0))
            request.stream = _Counted(request.stream, total, progress)  # type: ignore[arg-type]
            try:
                response = self.http.send(request)
            except httpx.HTTPError as exc:
                raise ApiError(f"cannot reach {self.server}: {exc}") from None
        if response.status_code >= 400:
            raise ApiError(_detail(response))
        return response.json()

    def download(self, url: str) -> Iterator[tuple[int | None, bytes]]:
        """(total size if known, chunk) as the file arrives."""
        try:
            with self.http.stream("GET", url) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ApiError(_detail(response))
                total = (
                    int(response.headers["content-length"]) if "content-length" in response.headers else None
                )
                for chunk in response.iter_bytes():
                    yield total, chunk
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.server}: {exc}") from None


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    text = str(detail) if detail else response.reason_phrase
    retry = response.headers.get("retry-after")
    if response.status_code == 429 and retry and "retry" not in text.lower():
        text += f" (try again in {retry} s)"
    return f"{response.status_code}: {text}"
