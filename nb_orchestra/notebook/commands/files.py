"""``%flow files NS``: a namespace's files (what scripts load with ``namespaceFiles``, what ``read()``
and the namespace tasks reach), and uploading local files into them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from IPython.core.error import UsageError

from ... import api
from ...errors import UserError
from .shared import show_table, when

if TYPE_CHECKING:
    from ..magics import FlowMagics
    from .shared import Subcommands


def add_parser(subcommands: Subcommands) -> None:
    """Add ``files``."""
    parser = subcommands.add_parser(
        "files", help="a namespace's files: list, upload",
        description="List the namespace files of NAMESPACE, or upload a local file or folder into them.")
    parser.add_argument("namespace", metavar="NAMESPACE", help="the namespace, e.g. company.team")
    parser.add_argument("--upload", metavar="LOCAL_PATH",
                        help="a local file, or a folder whose files (sub-folders kept) are uploaded")
    parser.add_argument("--to", default="/", metavar="FOLDER",
                        help="the namespace folder the uploaded files go to (default: /)")
    parser.set_defaults(handler=handle)


def handle(magics: FlowMagics, args: argparse.Namespace) -> None:
    """Upload first when asked (one line per file), then a table of the namespace's files."""
    try:
        if args.upload:
            written = api.upload_namespace_files(args.namespace, args.upload, args.to)
            for file in written:
                print(f"uploaded {file.path} ({file.size} bytes)")
        files = api.namespace_files(args.namespace)
    except UserError as exc:
        raise UsageError(str(exc)) from None
    show_table(["path", "size", "modified"], [(f.path, f.size, when(f.modified)) for f in files],
               f"no namespace files in {args.namespace}")
