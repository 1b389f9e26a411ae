"""The ``skiff`` command: log in to a hub and use its API from the shell.

Feature packages add their own groups (``skiff notebook``, ``skiff model``,
``skiff bench``) in ``hub/<feature>/cli.py`` with a ``register(main)`` function.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from typing import Any

import click

from hub.client import SkiffClient, SkiffError, forget_token, resolve_endpoint, store_token


class Context:
    def __init__(self, endpoint: str | None) -> None:
        self.endpoint = resolve_endpoint(endpoint)

    def client(self) -> SkiffClient:
        return SkiffClient(self.endpoint)


# The group stores its Context in ``ctx.obj``. Passing that object (rather than looking it up
# by class) keeps feature commands working under ``python -m hub.cli``, where this module
# is loaded twice (as ``__main__`` and as ``hub.cli``) with two distinct Context classes.
pass_ctx = click.pass_obj


def progress_bar(label: str) -> tuple[Callable[[int, int | None], None], Callable[[], None]]:
    """A (callback, close) pair drawing a progress bar on stderr for uploads/downloads."""
    state: dict[str, Any] = {"bar": None, "done": 0}

    def update(done: int, total: int | None) -> None:
        if state["bar"] is None:
            state["bar"] = click.progressbar(length=total or 0, label=label, file=sys.stderr,
                                             show_pos=True)
            state["bar"].__enter__()
        state["bar"].update(done - state["done"])
        state["done"] = done

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)

    return update, close


@click.group()
@click.option("--endpoint", envvar="SKIFF_ENDPOINT", default=None,
              help="The hub's address (default: $SKIFF_ENDPOINT, the last login's, or "
                   "http://127.0.0.1:5000).")
@click.version_option(package_name="skiff", prog_name="skiff")
@click.pass_context
def main(ctx: click.Context, endpoint: str | None) -> None:
    """Skiff: publish notebooks and models, and submit benchmark results to a hub."""
    ctx.obj = Context(endpoint)


@main.command()
@click.option("--token", help="An API token (skf_…); asked for when not given.")
@pass_ctx
def login(ctx: Context, token: str | None) -> None:
    """Check a token against the hub and save it for later commands."""
    if not token:
        token = click.prompt("Token (create one under Settings → API tokens)", hide_input=True)
    token = token.strip()
    try:
        me = SkiffClient(ctx.endpoint, token=token).whoami()
    except SkiffError as err:
        raise click.ClickException(f"login failed: {err.message}") from None
    path = store_token(ctx.endpoint, token)
    click.echo(f"Logged in to {ctx.endpoint} as {me['username']} (token saved in {path}).")


@main.command()
@pass_ctx
def whoami(ctx: Context) -> None:
    """Show who the saved token belongs to."""
    try:
        me = ctx.client().whoami()
    except SkiffError as err:
        raise click.ClickException(err.message) from None
    orgs = ", ".join(me["organizations"]) or "none"
    click.echo(f"{me['username']} ({me['role']}) on {ctx.endpoint}; organizations: {orgs}")


@main.command()
@pass_ctx
def logout(ctx: Context) -> None:
    """Forget the token saved for this hub."""
    if forget_token(ctx.endpoint):
        click.echo(f"Logged out of {ctx.endpoint}.")
    else:
        click.echo(f"No token was saved for {ctx.endpoint}.")


def _register_feature_commands() -> None:
    from hub import FEATURES

    for name in FEATURES:
        module_name = f"hub.{name}.cli"
        try:
            if importlib.util.find_spec(module_name) is None:
                continue
        except ModuleNotFoundError:
            continue
        register = getattr(importlib.import_module(module_name), "register", None)
        if register is not None:
            register(main)


_register_feature_commands()


if __name__ == "__main__":
    main()
