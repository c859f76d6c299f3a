"""The ``%flow`` subcommands, one module each (as jupysql's ``cmd/`` package).

A module's ``add_parser(subcommands)`` adds its subcommand with its arguments and sets the
``handler``, its ``handle(magics, args)``; what several share is in :mod:`.shared`.
"""

from __future__ import annotations

from . import (
    backfill,
    doc,
    evaluate,
    executions,
    files,
    gantt,
    kill,
    listing,
    logs,
    outputs,
    purge,
    replay,
    restart,
    resume,
    run,
    show,
    test,
    triggers,
    validate,
)

COMMANDS = (listing, show, run, executions, purge, logs, outputs, evaluate, kill, resume, validate, restart, replay,
            triggers, backfill, gantt, test, doc, files)
"""In the order ``%flow --help`` lists them."""
