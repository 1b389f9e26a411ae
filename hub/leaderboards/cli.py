"""``skiff bench run`` (the benchmark suite) and ``skiff bench submit`` (to a hub)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from hub.client import SkiffError


def submit_bundle(client, bundle: str | Path, system_id: int, progress=None,
                  models: tuple[str, ...] | list[str] = ()) -> dict:
    """Verify a bundle locally, archive it if it is a directory, and upload it for
    ``system_id``, naming the zoo ``models`` (owner/name) it ran; returns the hub's answer
    (the submission and its checks)."""
    from framework.bench import BundleError, verify_bundle, write_archive

    path = Path(bundle)
    try:
        verify_bundle(path)
    except BundleError as err:
        raise click.ClickException(f"the bundle is not valid: {err}") from None
    with tempfile.TemporaryDirectory(prefix="skiff-submit-") as tmp:
        if path.is_dir():
            path = write_archive(path, Path(tmp) / f"{path.name}.tar.gz")
        return client.upload(f"/systems/{system_id}/submissions", path,
                             params={"model": list(models)} if models else None,
                             progress=progress)


def register(main: click.Group) -> None:
    from hub.cli import Context, pass_ctx, progress_bar

    @main.group()
    def bench() -> None:
        """Run the benchmark suite and submit result bundles to a hub."""

    @bench.command(context_settings={"ignore_unknown_options": True})
    @click.option("--backend", default="numpy", show_default=True,
                  help="Registered backend name.")
    @click.option("--out", required=True, type=click.Path(), help="Bundle directory to write.")
    @click.option("--quick", is_flag=True, help="Short measurements (tests and demos).")
    @click.option("--system-yaml", type=click.Path(exists=True, dir_okay=False),
                  help="Vendor system fields (MLPerf names) as YAML.")
    @click.option("--archive", is_flag=True, help="Also write OUT.tar.gz.")
    @click.option("--only", multiple=True, metavar="ID", help="Run only these benchmarks.")
    def run(backend: str, out: str, quick: bool, system_yaml: str | None, archive: bool,
            only: tuple[str, ...]) -> None:
        """Run the suite (python -m framework.bench run) and write a result bundle."""
        from framework.bench.__main__ import main as bench_main

        argv = ["run", "--backend", backend, "--out", out]
        argv += ["--quick"] if quick else []
        argv += ["--system-yaml", system_yaml] if system_yaml else []
        argv += ["--archive"] if archive else []
        for bench_id in only:
            argv += ["--only", bench_id]
        code = bench_main(argv)
        if code:
            raise SystemExit(code)

    @bench.command()
    @click.argument("bundle", type=click.Path(exists=True))
    @click.option("--system", "system_id", required=True, type=int,
                  help="The registered system's id (see its page on the hub).")
    @click.option("--model", "models", multiple=True, metavar="OWNER/NAME",
                  help="A zoo model the result ran (repeatable); its page links to the "
                       "result once verified.")
    @pass_ctx
    def submit(ctx: Context, bundle: str, system_id: int, models: tuple[str, ...]) -> None:
        """Submit BUNDLE (a bundle directory or its .tar.gz) for a registered system."""
        update, close = progress_bar("Uploading")
        try:
            answer = submit_bundle(ctx.client(), bundle, system_id, progress=update,
                                   models=models)
        except SkiffError as err:
            raise click.ClickException(err.message) from None
        finally:
            close()
        click.echo(f"Submitted {answer['id']} for {answer['system_name']}: {answer['status']}")
        if answer.get("models"):
            click.echo(f"  models: {', '.join(answer['models'])}")
        for check in answer["checks"]:
            click.echo(f"  {check['name']}: {check['status']} - {check['reason']}")
        click.echo(answer.get("url", ""))
