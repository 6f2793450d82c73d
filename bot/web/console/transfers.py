"""The console's import and export pages: upload a CSV file, map its columns, see a dry run of every row,
import it with progress on the page; download supporters, the consent log, attendances and broadcast
results as CSV, streamed, within the organiser's scope (flows.organiser.imports and .exports decide
who may, and audit it).

An uploaded file is kept on the server under a random token, for the session that uploaded it and for
an hour at most, between the mapping, the dry run and the import; it is deleted after the import, when
discarded, or when it expires (and one a stopped service left behind, an hour after it was last used).
Work on it runs in the background, a batch per transaction, and its page refreshes itself (a meta
refresh: no script) until it is done. Outcomes go to a file beside it, so the page lists them a page at
a time and the refused rows download as CSV, at any size.
"""
from __future__ import annotations

import asyncio
import csv
import logging
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from bot.web.console import dates
from bot.web.console.base import Console, back, signed_in, why
from bot.web.i18n import gettext
from bot.web.middleware import UPLOADS
from flows.organiser import exports, imports
from flows.organiser.errors import ScopeError
from flows.organiser.import_file import FIELD_LABELS, FileError, Reader, default_mapping, fields_for, scan
from flows.organiser.signin import SignedIn
from storage import imports as import_store

log = logging.getLogger(__name__)

KEEP_SECONDS = 3600
PREFIX = "muster-import-"
LISTED = 200  # outcomes shown on one page of results
UPLOAD_PATH = "/console/import"
MAX_BYTES = UPLOADS[UPLOAD_PATH]
RESULT_WORDS = {"new": "new", "updated": "updated", "unchanged": "unchanged", "refused": "refused"}


@dataclass
class Job:
    dry_run: bool
    outcomes: Path
    progress: imports.Progress | None = None
    summary: imports.Summary | None = None
    error: str | None = None
    task: asyncio.Task[None] | None = None

    @property
    def done(self) -> bool:
        return self.summary is not None or self.error is not None


@dataclass
class Upload:
    token: str
    session_id: int
    folder: Path
    file_name: str
    kind: str
    size: int
    header: list[str]
    separator: str
    created: float = field(default_factory=time.monotonic)
    form: dict[str, str] = field(default_factory=dict)
    options: imports.Options | None = None
    checked: imports.Options | None = None  # the options of the last finished dry run
    job: Job | None = None

    @property
    def path(self) -> Path:
        return self.folder / "upload.csv"


def checks_its_own_csrf(scope: Scope) -> bool:
    """The upload's token is checked by the upload route itself: asgi-csrf's own reading of a multipart
    body does not work with the python-multipart installed (its FormParser has no FileClass any more)."""
    headers = dict(scope.get("headers", []))
    return bool(scope.get("path") == UPLOAD_PATH and scope.get("method") == "POST"
                and headers.get(b"content-type", b"").startswith(b"multipart/form-data"))


def _token_ok(request: Request, sent: object) -> bool:
    expected = request.scope.get("csrftoken")
    return bool(expected and isinstance(sent, str) and sent and secrets.compare_digest(sent, expected()))


def routes(console: Console) -> list[BaseRoute]:
    uploads: dict[str, Upload] = {}
    zone = console.settings.timezone

    def refused(request: Request, who: SignedIn, status: int, message: str) -> Response:
        return console.refused(request, who, status, message, heading=gettext("Import and export"),
                               back="/console/import", back_to=gettext("import and export"))

    def expire() -> None:
        _sweep_stale(KEEP_SECONDS)
        for token, upload in list(uploads.items()):
            running = upload.job is not None and not upload.job.done
            if time.monotonic() - upload.created > KEEP_SECONDS and not running:
                forget(token)

    def forget(token: str) -> None:
        upload = uploads.pop(token, None)
        if upload is not None:
            shutil.rmtree(upload.folder, ignore_errors=True)

    def mine(request: Request, who: SignedIn) -> Upload | Response:
        expire()
        upload = uploads.get(request.path_params["token"])
        if upload is None or upload.session_id != who.session.id:
            return refused(request, who, 410, gettext("That upload is no longer here: uploads are kept for an hour, "
                                                      "for the organiser who made them. Upload the file again."))
        return upload

    def allowed(request: Request, who: SignedIn) -> Response | None:
        try:
            imports.check_access(who.actor)
        except ScopeError as exc:
            return refused(request, who, 403, why(exc))
        return None

    # -- upload ----------------------------------------------------------------------------------
    async def start_page(request: Request, who: SignedIn, status: int = 200, error: str | None = None) -> Response:
        if (no := allowed(request, who)) is not None:
            return no
        async with console.transaction() as tx:
            recent = await import_store.recent(tx)
        return console.render(request, "transfers/import.html", status, who=who, error=error, recent=recent,
                              describe=imports.describe, max_mb=MAX_BYTES // (1024 * 1024), when=_when(zone))

    async def upload(request: Request, who: SignedIn) -> Response:
        if (no := allowed(request, who)) is not None:
            return no
        form = await request.form(max_files=1, max_fields=10)
        if not _token_ok(request, form.get("csrftoken")):
            return refused(request, who, 403, gettext("This form has expired: open the import page again and upload "
                                                      "the file."))
        sent, kind = form.get("file"), str(form.get("kind", "supporters"))
        if kind not in imports.KINDS:
            return await start_page(request, who, 400, gettext("Choose supporters or opt-outs."))
        if not isinstance(sent, UploadFile) or not sent.filename:
            return await start_page(request, who, 400, gettext("Choose a CSV file to upload."))
        expire()
        folder = Path(tempfile.mkdtemp(prefix=PREFIX))
        token = secrets.token_urlsafe(18)
        path, size = folder / "upload.csv", 0
        with path.open("wb") as out:
            while chunk := await sent.read(1024 * 1024):
                size += len(chunk)
                out.write(chunk)
        await sent.close()
        try:
            scan(path)
            reader = Reader(path)
            header = reader.read_header()
        except FileError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return await start_page(request, who, 400, f"{imports.safe_name(sent.filename)}: {exc}")
        uploads[token] = Upload(token, who.session.id, folder, imports.safe_name(sent.filename), kind, size, header,
                                reader.separator or ",")
        return RedirectResponse(f"/console/import/{token}", status_code=303)

    # -- mapping --------------------------------------------------------------------------------
    async def mapping_page(request: Request, who: SignedIn, up: Upload, status: int = 200,
                           error: str | None = None) -> Response:
        preview = Reader(up.path, up.separator).preview(3)
        defaults = default_mapping(up.header, up.kind) if not up.form else {}
        chosen = {name: up.form.get(f"map_{name}", str(defaults[name]) if name in defaults else "")
                  for name in fields_for(up.kind)}
        return console.render(request, "transfers/mapping.html", status, who=who, error=error, up=up,
                              preview=preview, fields=fields_for(up.kind), labels=FIELD_LABELS, chosen=chosen,
                              form=up.form, separator=imports.separator_name(up.separator),
                              size=f"{max(1, round(up.size / 1024)):,} KB")

    async def mapping(request: Request, who: SignedIn) -> Response:
        if (no := allowed(request, who)) is not None:
            return no
        up = mine(request, who)
        if isinstance(up, Response):
            return up
        try:
            return await mapping_page(request, who, up)
        except FileError as exc:
            return await mapping_page(request, who, up, 400, why(exc)) if up.form else refused(request, who, 400,
                                                                                                why(exc))

    def options_from(up: Upload, form: dict[str, str]) -> imports.Options:
        mapping: dict[str, int] = {}
        for name in fields_for(up.kind):
            value = form.get(f"map_{name}", "")
            if value:
                if not value.isdigit() or int(value) >= len(up.header):
                    raise FileError(f"Choose a column of the file for {FIELD_LABELS[name].lower()}.")
                mapping[name] = int(value)
        imports.mapping_for(up.header, up.kind, mapping)
        evidence = None
        if up.kind == "supporters":
            evidence = imports.evidence(form.get("source", ""), form.get("consent_date", ""), form.get("method", ""),
                                        form.get("wording", ""), zone, console.now())
        return imports.Options(up.kind, mapping, evidence, form.get("overwrite") == "1", form.get("again") == "1",
                               up.separator)

    def start(up: Upload, who: SignedIn, dry_run: bool) -> None:
        assert up.options is not None
        job = Job(dry_run, up.folder / ("check.csv" if dry_run else "import.csv"))
        up.job, options, flow = job, up.options, console.settings.flow_settings()

        async def work() -> None:
            with job.outcomes.open("w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)

                def outcome(o: imports.Outcome) -> None:
                    writer.writerow([o.line, o.result, o.reason])

                def progress(p: imports.Progress) -> None:
                    job.progress = p

                try:
                    job.summary = await imports.run(console.transaction, who.actor, up.path, up.file_name, options,
                                                    flow, console.now(), dry_run=dry_run, on_outcome=outcome,
                                                    on_progress=progress)
                except (FileError, ScopeError, ValueError) as exc:
                    job.error = why(exc)
                except Exception:
                    log.exception("import of an uploaded file failed")
                    job.error = "Something went wrong while reading the file; rows already imported stay in."
            if job.summary is not None and dry_run:
                up.checked = options
            if job.summary is not None and not dry_run:
                (up.folder / "upload.csv").unlink(missing_ok=True)  # imported: only the outcomes are kept

        job.task = asyncio.create_task(work())

    async def check(request: Request, who: SignedIn) -> Response:
        if (no := allowed(request, who)) is not None:
            return no
        up = mine(request, who)
        if isinstance(up, Response):
            return up
        if up.job is not None and not up.job.done:
            return back(f"/console/import/{up.token}/progress")
        form = await request.form()
        up.form = {k: str(v)[:6000] for k, v in form.items() if isinstance(v, str) and k != "csrftoken"}
        try:
            up.options = options_from(up, up.form)
        except (FileError, imports.EvidenceError) as exc:
            return await mapping_page(request, who, up, 400, why(exc))
        start(up, who, dry_run=True)
        return back(f"/console/import/{up.token}/progress")

    async def run(request: Request, who: SignedIn) -> Response:
        if (no := allowed(request, who)) is not None:
            return no
        up = mine(request, who)
        if isinstance(up, Response):
            return up
        if up.job is not None and not up.job.done:
            return back(f"/console/import/{up.token}/progress")
        if up.checked is None or up.checked != up.options or up.job is None or not up.job.dry_run:
            return refused(request, who, 400, gettext("Check the file with a dry run first, then import it."))
        start(up, who, dry_run=False)
        return back(f"/console/import/{up.token}/progress")

    async def progress(request: Request, who: SignedIn) -> Response:
        if (no := allowed(request, who)) is not None:
            return no
        up = mine(request, who)
        if isinstance(up, Response):
            return up
        job = up.job
        if job is None:
            return back(f"/console/import/{up.token}")
        page = request.query_params.get("page", "1")
        number = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
        listed = _outcomes(job.outcomes, (number - 1) * LISTED, LISTED) if job.done else []
        total = job.summary.rows if job.summary else 0
        return console.render(request, "transfers/progress.html", who=who, up=up, job=job, listed=listed,
                              page=number, pages=max(1, -(-total // LISTED)),
                              percent=_percent(job), result_words=RESULT_WORDS, when=_when(zone),
                              describe=imports.describe, separator=imports.separator_name(up.separator))

    async def refused_csv(request: Request, who: SignedIn) -> Response:
        if (no := allowed(request, who)) is not None:
            return no
        up = mine(request, who)
        if isinstance(up, Response):
            return up
        if up.job is None or not up.job.done:
            return refused(request, who, 400, gettext("The file is still being read: download the refused rows when "
                                                      "done."))
        return StreamingResponse(_refused_rows(up.job.outcomes), media_type="text/csv; charset=utf-8", headers={
            "content-disposition": 'attachment; filename="refused-rows.csv"'})

    async def discard(request: Request, who: SignedIn) -> Response:
        if (no := allowed(request, who)) is not None:
            return no
        up = mine(request, who)
        if isinstance(up, Response):
            return up
        if up.job is not None and not up.job.done:
            return refused(request, who, 400, gettext("The file is still being read: wait until it is done."))
        forget(up.token)
        return back("/console/import", f"{up.file_name} was discarded.")

    # -- export ---------------------------------------------------------------------------------
    async def export_page(request: Request, who: SignedIn) -> Response:
        return console.render(request, "transfers/export.html", who=who, kinds=exports.KINDS, titles=exports.TITLES,
                              headers=exports.HEADERS, everyone=who.actor.scope() is None,
                              may_import=who.actor.scope() is None)

    async def download(request: Request, who: SignedIn) -> Response:
        kind = request.path_params["kind"]
        if kind not in exports.KINDS:
            return refused(request, who, 404, gettext("There is no such export."))
        raw = request.query_params.get("broadcast", "")
        if raw and (not raw.isdigit() or len(raw) > 12):
            return refused(request, who, 400, gettext("The broadcast should be given by its number."))
        extra: dict[str, Any] = {"broadcast_id": int(raw)} if raw and kind == "broadcast-results" else {}
        lines = exports.rows(console.transaction, who.actor, kind, console.now(), **extra)
        try:
            first = await lines.__anext__()  # the scope check and the audit, before anything is sent
        except ScopeError as exc:
            return refused(request, who, 403, why(exc))
        except LookupError as exc:
            return refused(request, who, 404, why(exc))

        async def again() -> AsyncIterator[list[str]]:
            yield first
            async for line in lines:
                yield line

        name = f"{kind}-{console.now().strftime('%Y-%m-%d')}.csv"
        return StreamingResponse(exports.csv_chunks(again()), media_type="text/csv; charset=utf-8",
                                 headers={"content-disposition": f'attachment; filename="{name}"'})

    return [
        Route("/import", signed_in(console, start_page), methods=["GET"]),
        Route("/import", signed_in(console, upload), methods=["POST"]),
        Route("/import/{token}", signed_in(console, mapping), methods=["GET"]),
        Route("/import/{token}/check", signed_in(console, check), methods=["POST"]),
        Route("/import/{token}/run", signed_in(console, run), methods=["POST"]),
        Route("/import/{token}/progress", signed_in(console, progress), methods=["GET"]),
        Route("/import/{token}/refused.csv", signed_in(console, refused_csv), methods=["GET"]),
        Route("/import/{token}/discard", signed_in(console, discard), methods=["POST"]),
        Route("/export", signed_in(console, export_page), methods=["GET"]),
        Route("/export/{kind}.csv", signed_in(console, download), methods=["GET"]),
    ]


def _when(zone: str) -> Any:
    from zoneinfo import ZoneInfo

    from storage.db import parse_ts

    def when(stamp: str | None) -> str:
        return dates.day(parse_ts(stamp).astimezone(ZoneInfo(zone))) if stamp else "–"
    return when


def _sweep_stale(age: float) -> None:
    """Uploads left behind by a service that stopped (they hold people's details): gone after `age` seconds."""
    now = time.time()
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            if now - folder.stat().st_mtime > age:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _percent(job: Job) -> int:
    if job.done:
        return 100
    p = job.progress
    return 0 if p is None or not p.size else min(99, int(100 * p.bytes_read / p.size))


def _outcomes(path: Path, skip: int, limit: int) -> list[list[str]]:
    found: list[list[str]] = []
    if not path.exists():
        return found
    with path.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.reader(f)):
            if n < skip:
                continue
            if len(found) >= limit:
                break
            found.append(row)
    return found


async def _refused_rows(path: Path) -> AsyncIterator[str]:
    yield "line,reason\r\n"
    lines: list[str] = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) == 3 and row[1] == "refused":
                lines.append(",".join(_quoted(v) for v in (row[0], exports.neutralise(row[2]))) + "\r\n")
                if len(lines) >= 1000:
                    yield "".join(lines)
                    lines.clear()
    if lines:
        yield "".join(lines)


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value
