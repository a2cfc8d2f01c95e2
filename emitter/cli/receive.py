"""The `receive` command: the built-in receiver on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emitter.cli.common import (
    app,
    fail,
    own_environment,
)


@app.command(context_settings=own_environment("receive"))
def receive(
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on (loopback by default).",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port",
            min=0,
            max=65535,
            help="Port; 0 picks a free one (printed).",
        ),
    ] = 8765,
    journal: Annotated[
        Path | None,
        typer.Option(
            "--journal",
            help="Append every request as a JSON line to this file.",
        ),
    ] = None,
    status: Annotated[
        int,
        typer.Option(
            "--status",
            min=200,
            max=599,
            help="HTTP status to answer.",
        ),
    ] = 200,
    fail_first: Annotated[
        int,
        typer.Option(
            "--fail-first",
            min=0,
            help="Answer --fail-status to the first N requests.",
        ),
    ] = 0,
    fail_status: Annotated[
        int,
        typer.Option(
            "--fail-status",
            min=200,
            max=599,
            help="Status of the failed requests.",
        ),
    ] = 500,
    delay: Annotated[
        str,
        typer.Option(
            "--delay",
            help="Wait before answering: 250ms, 6s (VOD gives up after 5 s).",
        ),
    ] = "0",
    drop_first: Annotated[
        int,
        typer.Option(
            "--drop-first",
            min=0,
            help="Close the connection without answering for the first N requests.",
        ),
    ] = 0,
    drop: Annotated[
        bool,
        typer.Option(
            "--drop",
            help="Close every connection without answering.",
        ),
    ] = False,
    body: Annotated[
        str,
        typer.Option(
            "--body",
            help="Response body (VOD ignores it).",
        ),
    ] = "",
    sign_key: Annotated[
        str | None,
        typer.Option(
            "--sign-key",
            envvar="VOD_EMITTER_SIGN_KEY",
            help="Verify Sign/T with this SignKey; bad ones get --sign-status.",
        ),
    ] = None,
    sign_in: Annotated[
        str,
        typer.Option(
            "--sign-in",
            envvar="VOD_EMITTER_SIGN_IN",
            help="Where Sign and T travel: body, query or header.",
        ),
    ] = "body",
    sign_status: Annotated[
        int,
        typer.Option(
            "--sign-status",
            min=200,
            max=599,
            help="Status for a bad, missing or expired signature.",
        ),
    ] = 401,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="No line per request; only the summary.",
        ),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Also print each request's headers and body.",
        ),
    ] = False,
) -> None:
    """Run the built-in receiver: record, check and answer callbacks until Ctrl-C."""
    import asyncio

    from emitter.clock import parse_duration
    from emitter.delivery.signing import PLACEMENTS
    from emitter.errors import EmitterError, UsageError
    from emitter.receiver.server import Behaviour, ReceivedRequest, Receiver, wait_for_signal

    try:
        if sign_in not in PLACEMENTS:
            raise UsageError(
                f"--sign-in {sign_in!r} is not a placement",
                hint=f"use one of: {', '.join(PLACEMENTS)}",
            )
        behaviour = Behaviour(
            status=status,
            fail_first=fail_first,
            fail_status=fail_status,
            delay=parse_duration(delay, location="--delay", text_numbers=True),
            drop_first=drop_first,
            drop_all=drop,
            body=body.encode("utf-8"),
        )
    except EmitterError as exc:
        fail(exc)

    def show(record: ReceivedRequest) -> None:
        flagged = record.problems or record.signature_problem or record.dropped
        typer.secho(record.console_line(), fg="yellow" if flagged else None)
        if verbose:
            for name, value in record.headers:
                typer.echo(f"    {name}: {value}")
            typer.echo("    " + record.body.decode("utf-8", "replace"))

    receiver = Receiver(
        host=host,
        port=port,
        behaviour=behaviour,
        sign_key=sign_key,
        sign_in=sign_in,
        sign_status=sign_status,
        journal=journal,
        on_request=None if quiet else show,
        keep_records=False,
    )

    async def serve() -> None:
        async with receiver:
            signing = f", verifying Sign/T in the {sign_in}" if sign_key else ""
            typer.echo(
                f"receiving on {receiver.url} ({behaviour.describe()}{signing}); Ctrl-C to stop",
                err=True,
            )
            if host not in ("127.0.0.1", "localhost", "::1"):
                typer.echo(f"warning: listening on {host}, reachable from other machines", err=True)
            await wait_for_signal()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass  # where the loop cannot trap SIGINT, Ctrl-C still ends the run cleanly
    except EmitterError as exc:
        fail(exc)
    except OSError as exc:
        on_journal = journal is not None and exc.filename is not None
        fail(
            UsageError(
                f"cannot {'write the journal' if on_journal else 'listen'}: {exc.strerror or exc}",
                location=f"--journal {journal}" if on_journal else f"--host {host} --port {port}",
                hint="give a writable path"
                if on_journal
                else "pick another port (--port 0 picks a free one)",
            )
        )
    typer.echo(f"stopped: {receiver.summary()}", err=True)
    if receiver.journal_error is not None:  # every request was answered; the journal is short
        error = receiver.journal_error
        fail(
            UsageError(
                f"cannot write the journal: {error.strerror or error}; it stops before the failed request",
                location=f"--journal {journal}",
                hint="give a writable path with free space",
            )
        )
