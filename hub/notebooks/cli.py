"""``skiff notebook``: push notebooks to a hub, pull them back, list and run them."""

from __future__ import annotations

from pathlib import Path

import click

from hub.client import SkiffError


def register(main: click.Group) -> None:
    """Add the ``notebook`` group to the ``skiff`` command."""
    from hub.cli import progress_bar

    # ``click.pass_obj`` rather than hub.cli's ``pass_ctx``: under ``python -m hub.cli`` that
    # module runs as __main__, and its Context class is not the one imported here.
    pass_ctx = click.pass_obj

    @main.group()
    def notebook() -> None:
        """Upload, download, list and run notebooks."""

    @notebook.command()
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--title", help="Title (default: the notebook's first heading or file name).")
    @click.option("--slug", help="Short name in the address; pushing to it again adds a version.")
    @click.option("--description", help="What the notebook is about.")
    @click.option("--tag", "tags", multiple=True, help="A tag (repeat for several).")
    @click.option("--public/--private", default=None, help="Who can see it (default: public "
                  "for a new notebook, unchanged for a new version).")
    @pass_ctx
    def push(ctx, file: Path, title, slug, description, tags, public) -> None:
        """Upload FILE.ipynb (a new notebook, or a new version of yours with the same slug)."""
        params = {"filename": file.name}
        for key, value in (("title", title), ("slug", slug or (None if title else file.stem)),
                           ("description", description)):
            if value:
                params[key] = value
        if tags:
            params["tags"] = ",".join(tags)
        if public is not None:
            params["public"] = "true" if public else "false"
        update, close = progress_bar(f"Uploading {file.name}")
        try:
            body = ctx.client().upload("notebooks", file, params=params, progress=update)
        except SkiffError as err:
            raise click.ClickException(err.message) from None
        finally:
            close()
        click.echo(f"Pushed {body['owner']}/{body['slug']} version {body['version']}: "
                   f"{ctx.endpoint}{body['url']}")

    @notebook.command()
    @click.argument("name", metavar="OWNER/SLUG")
    @click.option("--version", "number", type=int, help="Version number (default: newest).")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                  help="Where to save it (default: SLUG.ipynb here).")
    @pass_ctx
    def pull(ctx, name: str, number: int | None, output: Path | None) -> None:
        """Download a notebook's .ipynb file."""
        owner, _, slug = name.partition("/")
        if not owner or not slug:
            raise click.BadParameter("give the notebook as OWNER/SLUG", param_hint="NAME")
        path = f"notebooks/{owner}/{slug}/download"
        if number is not None:
            path += f"?version={number}"
        dest = output or Path(f"{slug}.ipynb")
        update, close = progress_bar(f"Downloading {slug}.ipynb")
        try:
            ctx.client().download(path, dest, progress=update)
        except SkiffError as err:
            raise click.ClickException(err.message) from None
        finally:
            close()
        click.echo(f"Saved {owner}/{slug} to {dest}")

    @notebook.command(name="list")
    @click.option("--owner", help="Only this user's notebooks.")
    @click.option("-q", "--query", help="Words to find in titles, descriptions and tags.")
    @pass_ctx
    def list_(ctx, owner: str | None, query: str | None) -> None:
        """List notebooks you can see."""
        params = {k: v for k, v in (("owner", owner), ("q", query)) if v}
        try:
            for item in ctx.client().iter_pages("notebooks", **params):
                private = "" if item["public"] else " (private)"
                click.echo(f"{item['owner']}/{item['slug']}\t{item['title']}{private}")
        except SkiffError as err:
            raise click.ClickException(err.message) from None

    @notebook.command()
    @click.argument("name", metavar="OWNER/SLUG")
    @pass_ctx
    def run(ctx, name: str) -> None:
        """Run your notebook's newest version in the hub's sandbox."""
        owner, _, slug = name.partition("/")
        try:
            body = ctx.client().post(f"notebooks/{owner}/{slug}/runs")
        except SkiffError as err:
            raise click.ClickException(err.message) from None
        click.echo(f"Run {body['id']} of {owner}/{slug}: {body['status']} "
                   f"(job {body['job_id']})")
