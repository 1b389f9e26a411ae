"""``skiff model push`` and ``skiff model pull``."""

from __future__ import annotations

import click

from hub.client import SkiffError


def register(main: click.Group) -> None:
    from hub.cli import Context, pass_ctx, progress_bar
    from hub.zoo.client import pull_model, push_model

    @main.group()
    def model() -> None:
        """Publish and download models."""

    @model.command()
    @click.argument("folder", type=click.Path(exists=True, file_okay=False))
    @click.option("--repo", required=True, help="Where to publish: owner/name.")
    @click.option("-m", "--message", required=True, help="What changed in this version.")
    @click.option("--tag", default=None, help="Also name the new version, for example v1.0.")
    @click.option("--private/--public", default=None,
                  help="Visibility (a new model is public unless --private).")
    @pass_ctx
    def push(ctx: Context, folder: str, repo: str, message: str, tag: str | None,
             private: bool | None) -> None:
        """Publish FOLDER (README.md card, .safetensors weights, graph.json or model.py) as
        the next version of a model."""
        try:
            version = push_model(ctx.client(), folder, repo, message, tag=tag,
                                 public=None if private is None else not private,
                                 progress=progress_bar)
        except SkiffError as err:
            raise click.ClickException(err.message) from None
        owner, name = repo.split("/", 1)
        click.echo(f"Published {repo} version {version['number']} "
                   f"({len(version['files'])} files); validation: "
                   f"{version['validation']['status']}.")
        click.echo(f"{ctx.endpoint}/models/{owner}/{name}")

    @model.command()
    @click.argument("ref", metavar="OWNER/NAME[@VERSION]")
    @click.argument("folder", type=click.Path(file_okay=False))
    @pass_ctx
    def pull(ctx: Context, ref: str, folder: str) -> None:
        """Download a model version (latest unless @VERSION, a number or a tag) into FOLDER."""
        try:
            path = pull_model(ctx.client(), ref, folder, progress=progress_bar)
        except SkiffError as err:
            raise click.ClickException(err.message) from None
        click.echo(f"Downloaded {ref} into {path}")
