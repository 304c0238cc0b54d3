"""Options and start-up steps shared by several sub-commands."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from worker.cli.exits import Exit
from worker.config import DEFAULTS
from worker.knowledge.entry import KbError, KnowledgeBase
from worker.knowledge.loader import default_kb_dir, load_kb

if TYPE_CHECKING:
    from worker.store.store import Store

DEFAULT_STORE = DEFAULTS.store  # the `store` key's default, written once in worker/config.py


def settle_heap() -> None:
    """Call once start-up is done (KB loaded, engines compiled), before a long run.

    The hot path allocates many short-lived tuples and structs that reference counting
    frees; the cyclic GC re-walking them, and the KB's thousands of objects, on every
    700 allocations took about a fifth of a replay (measured). Freeze what start-up made,
    and collect the young generation less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def add_kb_args(p: Any) -> None:
    p.add_argument("--kb", type=Path, default=None, metavar="DIR",
                   help=f"knowledge base folder (default: $TFPULSE_KB or {default_kb_dir()})")


def load_kb_or_exit(args: argparse.Namespace) -> KnowledgeBase:
    """Load the KB or exit 3 naming every problem: never run on a half-loaded KB."""
    try:
        return load_kb(args.kb)
    except KbError as exc:
        print(f"tfpulse: the knowledge base does not load ({len(exc.problems)} problem(s)):",
              file=sys.stderr)
        for problem in exc.problems[:50]:
            print(f"  {problem}", file=sys.stderr)
        print("fix the entries above (format: docs/kb-format.md), then run `tfpulse kb lint`",
              file=sys.stderr)
        raise SystemExit(Exit.KB) from None


def add_store_args(p: Any) -> None:
    p.add_argument("--store", default=os.environ.get("TFPULSE_STORE", DEFAULT_STORE),
                   metavar="URL", help="sqlite:///FILE or postgresql://user@host/db "
                   f"(default: $TFPULSE_STORE or {DEFAULT_STORE})")


def sqlite_file(url: str) -> Path | None:
    """The file of a sqlite:///FILE URL (None for other URLs and in-memory SQLite)."""
    if not url.startswith("sqlite:///") or url in ("sqlite:///", "sqlite:///:memory:"):
        return None
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0])


def open_store_or_exit(url: str, *, create: bool = True, command: str = "") -> Store:
    """The store at `url`, or exit 2 saying what to do. A read-only command passes
    create=False: a SQLite file that does not exist is an error, never a new empty store."""
    from sqlalchemy.exc import SQLAlchemyError

    from worker.store.store import StoreError, open_store

    path = sqlite_file(url)
    if not create and path is not None and not path.is_file():
        demo = " (`make demo` writes sqlite:///tfpulse-demo.db)" if path.name != \
            "tfpulse-demo.db" else " (`make demo` writes it)"
        print(f"tfpulse {command or 'error'}: no store at {path}{demo}; point at yours with "
              "--store URL or $TFPULSE_STORE", file=sys.stderr)
        raise SystemExit(Exit.USAGE)
    unreachable = None if create or path is not None else _unreachable(url)
    if unreachable:
        print(f"tfpulse {command or 'error'}: cannot reach the store {url}: {unreachable}",
              file=sys.stderr)
        print("check the URL (postgresql://user@host:5432/db) and that the database is up; "
              "point at another with --store URL or $TFPULSE_STORE", file=sys.stderr)
        raise SystemExit(Exit.USAGE)
    try:
        return open_store(url)
    except (StoreError, SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).split("\n", 1)[0]  # no library links
        print(f"tfpulse: cannot open the store {url}: {reason}", file=sys.stderr)
        print("check the URL (sqlite:///path/file.db or postgresql://user@host:5432/db) "
              "and that the database is reachable", file=sys.stderr)
        raise SystemExit(Exit.USAGE) from None


def add_kb_and_store_args(p: Any) -> None:
    add_store_args(p)
    add_kb_args(p)


def _unreachable(url: str) -> str | None:
    """Why a PostgreSQL store cannot be reached in 5 s (one try, the first line of the
    driver's reason), or None. A read-only command says so at once instead of retrying
    as the worker does."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # open_store words a bad URL
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        return None
    engine = create_engine(parsed.set(drivername="postgresql+psycopg"),
                           connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            return None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc)
        return reason.strip().splitlines()[0].removeprefix("connection failed: ")
    finally:
        engine.dispose()


def open_kb_and_store(args: argparse.Namespace) -> tuple[KnowledgeBase, Store]:
    """The start of every command that reads the KB and the store: exit 3 or 2 with what
    to do when either cannot be used."""
    return load_kb_or_exit(args), open_store_or_exit(args.store)
