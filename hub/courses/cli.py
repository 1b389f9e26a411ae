"""``skiff course``: push a course folder to a hub, list courses, show one."""

from __future__ import annotations

from pathlib import Path

import click

from hub.client import SkiffError

#: Files of a course folder that are sent: the manifest and the lesson files it may name.
COURSE_FILES = ("course.yaml", "*.ipynb", "*.md")


def collect_files(folder: Path) -> dict[str, str]:
    """The text of ``course.yaml`` and every ``.ipynb``/``.md`` file under ``folder``."""
    files: dict[str, str] = {}
    for pattern in COURSE_FILES:
        for path in sorted(folder.rglob(pattern)):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts:
                rel = path.relative_to(folder).as_posix()
                try:
                    files[rel] = path.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    raise click.ClickException(f"{rel} is not UTF-8 text") from None
    if "course.yaml" not in files:
        raise click.ClickException(f"{folder} has no course.yaml")
    return files


def register(main: click.Group) -> None:
    """Add the ``course`` group to the ``skiff`` command."""
    # click.pass_obj, not hub.cli.pass_ctx: under ``python -m hub.cli`` that module's Context
    # class is __main__'s, a different class from hub.cli's.
    pass_ctx = click.pass_obj

    @main.group()
    def course() -> None:
        """Publish and list courses."""

    @course.command()
    @click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
    @click.option("--draft", is_flag=True, help="Keep it as a draft, whatever course.yaml says.")
    @pass_ctx
    def push(ctx, folder: Path, draft: bool) -> None:
        """Create or update the course in FOLDER (course.yaml plus lesson files); you must be
        a teacher. Pushing again updates it in place and keeps learners' progress."""
        files = collect_files(folder)
        try:
            body = ctx.client().post("courses/push", {"files": files, "draft": draft})
        except SkiffError as err:
            raise click.ClickException(err.message) from None
        state = "published" if body["published"] else "draft"
        click.echo(f"Pushed {body['slug']}: {len(body['lessons'])} lessons ({state}): "
                   f"{ctx.endpoint}{body['url']}")

    @course.command("list")
    @pass_ctx
    def list_courses(ctx) -> None:
        """List the published courses."""
        try:
            for item in ctx.client().iter_pages("courses"):
                click.echo(f"{item['slug']}\t{item['title']}")
        except SkiffError as err:
            raise click.ClickException(err.message) from None
