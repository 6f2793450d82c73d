"""`muster import supporters|opt-outs FILE.csv` and `muster export supporters|consent|attendances|
broadcast-results`: lists in and out, through the same operations as the console."""
from __future__ import annotations

import csv
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from bot.cli.base import console, err, fail, settings, shown, with_database
from flows.core.clock import SystemClock
from flows.organiser import exports, imports
from flows.organiser.access import Actor
from flows.organiser.errors import ScopeError
from flows.organiser.import_file import FileError, Reader, default_mapping, fields_for, header_key
from storage.db import Database, parse_ts

T = TypeVar("T")
CLI = Actor(trusted=True, label="cli")
import_app = typer.Typer(help="Bring lists of supporters, or of opt-outs made elsewhere, in from CSV.",
                         no_args_is_help=True)
export_app = typer.Typer(help="Take supporters, the consent log, attendances or broadcast results out as CSV.",
                         no_args_is_help=True)

_MAP_HELP = ("A column for a field, as FIELD=HEADER (repeat it), when the header's names are not the usual "
             "ones: --map phone='Mobile no.'")


def _with_db(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` with the configured database; file and organiser errors end the command in one line."""
    return with_database(work, (FileError, imports.EvidenceError, ScopeError, LookupError, ValueError),
                         "Rows imported before this stayed in; free some space and run the command again "
                         "(they are then unchanged).")


def _mapping(path: Path, kind: str, given: list[str], separator: str | None) -> dict[str, int] | None:
    if not given:
        return None
    header = Reader(path, separator).read_header()
    keys = [header_key(h) for h in header]
    mapping = default_mapping(header, kind)
    for pair in given:
        name, sep, column = pair.partition("=")
        name = name.strip()
        if not sep or name not in fields_for(kind):
            fail(f"--map {shown(pair)!r}: write FIELD=HEADER, with FIELD one of {', '.join(fields_for(kind))}")
        if header_key(column) not in keys:
            fail(f"--map {shown(pair)!r}: the file has no column {shown(column)!r} "
                 f"(its columns: {shown(', '.join(header))})")
        mapping = {k: v for k, v in mapping.items() if v != keys.index(header_key(column))}
        mapping[name] = keys.index(header_key(column))
    return mapping


def _when(text: str | None) -> str:
    return parse_ts(text).strftime("%-d %b %Y %H:%M UTC") if text else ""


def _run_import(kind: str, path: Path, dry_run: bool, options: imports.Options, refused_to: Path | None,
                every_row: bool) -> None:
    cfg = settings()
    now = SystemClock().now()
    refused: list[imports.Outcome] = []
    lines: list[str] = []

    def outcome(o: imports.Outcome) -> None:
        if o.result == "refused":
            refused.append(o)
        if every_row:
            lines.append(f"line {o.line}: {o.result}" + (f" ({o.reason})" if o.reason else ""))

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("Checking" if dry_run else "Importing", total=path.stat().st_size)

        def progress(p: imports.Progress) -> None:
            bar.update(task, completed=p.bytes_read, total=p.size)

        async def work(db: Database) -> imports.Summary:
            return await imports.run(db.transaction, CLI, path, path.name, options, cfg.flow_settings(), now,
                                     dry_run=dry_run, on_outcome=outcome, on_progress=progress)

        summary = _with_db(work)
    _report(summary, refused, lines, refused_to)


def _report(s: imports.Summary, refused: list[imports.Outcome], lines: list[str], refused_to: Path | None) -> None:
    if s.skipped and s.previous is not None:
        console.print(f"{shown(s.file_name)} was imported already, on {_when(s.previous.at)} by "
                      f"{shown(s.previous.imported_by)} (import #{s.previous.id}): nothing changed. Add --again to "
                      "read it again (its rows would be unchanged).", highlight=False, soft_wrap=True)
        return
    for line in lines:
        console.print(shown(line), highlight=False, soft_wrap=True)
    c = s.counts
    what = "Dry run: nothing was changed. Importing" if s.dry_run else f"Import #{s.import_id}:"
    verb = " would make" if s.dry_run else ""
    rows = "1 row" if s.rows == 1 else f"{s.rows:,} rows"
    console.print(f"{what} {shown(s.file_name)} ({rows}, separated by "
                  f"{shown(imports.separator_name(s.separator))}){verb}: {imports.describe(c)}.", highlight=False,
                  soft_wrap=True)
    if c.get("no_consent"):
        n = c["no_consent"]
        console.print(f"{n:,} new {'supporter has' if n == 1 else 'supporters have'} no consent evidence: kept as "
                      f"{'a contact' if n == 1 else 'contacts'}, never messaged until they opt in themselves.",
                      highlight=False, soft_wrap=True)
    if s.previous is not None and s.dry_run:
        console.print(f"This file was imported already (import #{s.previous.id}, {_when(s.previous.at)}).")
    if not lines:  # with --list they are listed above already
        for o in refused:
            console.print(f"line {o.line}: refused: {shown(o.reason)}", highlight=False, soft_wrap=True)
    if refused_to is not None:
        with refused_to.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["line", "reason"])
            writer.writerows([o.line, o.reason] for o in refused)
        console.print(f"Refused rows written to {shown(str(refused_to))}.", highlight=False)


def _evidence(source: str, date: str, method: str, wording: str, wording_file: Path | None) -> imports.Evidence | None:
    if wording_file is not None:
        if wording:
            fail("give the wording with --wording or --wording-file, not both")
        try:
            wording = wording_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--wording-file: cannot read {shown(str(wording_file))}: {shown(str(exc))}")
    cfg = settings().flow_settings()
    try:
        return imports.evidence(source, date, method, wording, cfg.timezone, SystemClock().now())
    except imports.EvidenceError as exc:
        fail(shown(str(exc)))


def _existing(path: Path) -> Path:
    if not path.is_file():
        fail(f"FILE: there is no file {shown(str(path))}")
    return path


_SUPPORTERS_FILE = typer.Argument(..., metavar="FILE.csv", help="A CSV file with a header row.")
_OPT_OUTS_FILE = typer.Argument(..., metavar="FILE.csv", help="A CSV file with a phone (or telegram_id) column.")
_MAP = typer.Option([], "--map", help=_MAP_HELP)
_WORDING_FILE = typer.Option(None, "--wording-file", help="The words, from a text file.")
_REFUSED = typer.Option(None, "--refused", help="Write the refused rows to this CSV file.")


@import_app.command("supporters")
def import_supporters(
    path: Path = _SUPPORTERS_FILE,
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what importing would do; change nothing."),
    mapping: list[str] = _MAP,
    separator: str | None = typer.Option(None, "--separator", help="The separator, when guessing it fails."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace an existing supporter's fields that differ, not only empty ones."),
    again: bool = typer.Option(False, "--again", help="Read a file that was imported before."),
    source: str = typer.Option("", "--source", help="Evidence for every row: where they consented."),
    consent_date: str = typer.Option("", "--consent-date", help="Evidence: when (2025-03-01)."),
    method: str = typer.Option("", "--method", help="Evidence: how (e.g. 'tick box on the web form')."),
    wording: str = typer.Option("", "--wording", help="Evidence: the words they agreed to."),
    wording_file: Path | None = _WORDING_FILE,
    refused_to: Path | None = _REFUSED,
    every_row: bool = typer.Option(False, "--list", help="Print every row's outcome."),
) -> None:
    """Import supporters: phone, names, email, postcode, Telegram id, interests, group, consent evidence."""
    _existing(path)
    evidence = _evidence(source, consent_date, method, wording, wording_file)
    options = imports.Options("supporters", _mapping(path, "supporters", mapping, separator), evidence, overwrite,
                              again, separator)
    _run_import("supporters", path, dry_run, options, refused_to, every_row)


@import_app.command("opt-outs")
def import_opt_outs(
    path: Path = _OPT_OUTS_FILE,
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what importing would do; change nothing."),
    mapping: list[str] = _MAP,
    separator: str | None = typer.Option(None, "--separator", help="The separator, when guessing it fails."),
    again: bool = typer.Option(False, "--again", help="Read a file that was imported before."),
    refused_to: Path | None = _REFUSED,
    every_row: bool = typer.Option(False, "--list", help="Print every row's outcome."),
) -> None:
    """Opt out everyone on a list from another platform; numbers not known here are suppressed."""
    _existing(path)
    options = imports.Options("opt-outs", _mapping(path, "opt-outs", mapping, separator), None, False, again,
                              separator)
    _run_import("opt-outs", path, dry_run, options, refused_to, every_row)


def _export(kind: str, output: Path | None, bom: bool, **extra: Any) -> None:
    now: datetime = SystemClock().now()

    async def work(db: Database) -> int:
        count = 0
        target = output.open("w", encoding="utf-8", newline="") if output else None
        out = target or sys.stdout
        try:
            async for chunk in exports.csv_chunks(exports.rows(db.transaction, CLI, kind, now, **extra), bom):
                out.write(chunk)
                count += chunk.count("\r\n")
            out.flush()
        finally:
            if target:
                target.close()
        return count - 1

    written = _with_db(work)
    if output:
        err.print(f"{written:,} {'row' if written == 1 else 'rows'} written to {shown(str(output))}.", highlight=False)


_OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file (default: standard output).")
_BOM = typer.Option(True, "--bom/--no-bom", help="Start with a byte order mark (spreadsheets read accents right).")


@export_app.command("supporters")
def export_supporters(output: Path | None = _OUTPUT, bom: bool = _BOM) -> None:
    """Supporters, with each channel's consent and the date, method and wording of the latest."""
    _export("supporters", output, bom)


@export_app.command("consent")
def export_consent(output: Path | None = _OUTPUT, bom: bool = _BOM) -> None:
    """The consent log: every opt-in and opt-out, how and when."""
    _export("consent", output, bom)


@export_app.command("attendances")
def export_attendances(output: Path | None = _OUTPUT, bom: bool = _BOM) -> None:
    """Every RSVP to every event, with attendance."""
    _export("attendances", output, bom)


@export_app.command("broadcast-results")
def export_broadcast_results(
    output: Path | None = _OUTPUT, bom: bool = _BOM,
    broadcast: int | None = typer.Option(None, "--broadcast", help="Only this broadcast's messages."),
) -> None:
    """Every broadcast message: to whom, on which channel, what became of it, an alert's answer."""
    _export("broadcast-results", output, bom, broadcast_id=broadcast)
