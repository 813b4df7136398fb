"""The ``kehu`` command: serve, validate, migrate, demo, create-user, remind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from kehu.metadata import MetadataError


def _app(ctx_obj=None):
    from kehu import create_app

    try:
        return create_app()
    except MetadataError as exc:
        _print_problems(exc)
        sys.exit(1)


def _print_problems(exc: MetadataError) -> None:
    for problem in exc.problems:
        click.echo(str(problem), err=True)
    click.echo(f"{len(exc.problems)} problem(s) found.", err=True)


@click.group()
def main():
    """Kehu (客户): a low-code CRM driven by metadata."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=5000, show_default=True, type=int, envvar="PORT", help="Port to listen on (or the PORT variable).")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="gunicorn worker processes.")
@click.option("--debug", is_flag=True, help="Flask's development server, reloading on code changes (never in production).")
def serve(host, port, workers, debug):
    """Serve the web app: gunicorn (2 threads per worker), or Flask's reloader with --debug."""
    app = _app()
    site = app.extensions["kehu"]
    if not site.plan().empty:
        click.echo("The database is not up to date with the metadata; run `kehu migrate` first.", err=True)
        sys.exit(1)
    if debug:
        click.echo(f"Kehu (development server, reloading) at http://{host}:{port}/ — stop with Ctrl-C")
        app.run(host=host, port=port, debug=True, use_reloader=True)
        return
    site.engine.dispose()  # each worker opens its own connections
    from kehu import server

    click.echo(f"Kehu serving at http://{host}:{port}/ (gunicorn, {workers} worker(s)) — stop with Ctrl-C")
    server.build(host, port, workers).run()


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
def validate(paths):
    """Check packs (default: those the app loads: the base pack, plugins/, KEHU_PACKS and
    installed plugins' packs) and print every problem."""
    from kehu.app import settings_from_env
    from kehu.metadata.loader import base_pack_path, discover_packs, load_metadata
    from kehu.plugins import field_type_registry, make_plugin_manager

    import yaml

    pm = make_plugin_manager()
    extra = [Path(p) for p in settings_from_env(Path.cwd()).get("PACKS", [])]
    extra += [Path(p) for group in pm.hook.register_packs() for p in group]
    defaults = discover_packs(base_pack_path(), base_pack_path() / "plugins", extra)
    packs = list(defaults)
    for path in paths:
        manifest = path / "metadata" / "pack.yaml"
        try:
            is_base = (yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}).get("name") == "base"
        except (OSError, yaml.YAMLError):
            is_base = False
        if is_base:  # a whole project of its own: validate it alone
            packs = [p for p in paths]
            break
        if path.resolve() not in {p.resolve() for p in packs}:
            packs.append(path)
    try:
        metadata = load_metadata(packs, field_type_registry(pm))
    except MetadataError as exc:
        _print_problems(exc)
        sys.exit(1)
    click.echo(f"OK: {len(metadata.packs)} pack(s), {len(metadata.entities)} entities, "
               f"{len(metadata.picklists)} picklists, {len(metadata.layouts)} layouts, "
               f"{len(metadata.workflows)} workflows; version {metadata.version}")


@main.command()
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@click.option("--force", is_flag=True, help="Also apply type changes that may lose data.")
@click.option("--lock-timeout", default=5.0, show_default=True, type=click.FloatRange(min=0.001),
              help="PostgreSQL: seconds to wait for a table lock before giving up an attempt.")
@click.option("--retries", default=3, show_default=True, type=click.IntRange(min=1),
              help="Attempts when a table stays locked (with a growing pause between them).")
def migrate(dry_run, force, lock_timeout, retries):
    """Bring the database up to date with the metadata (additive; fields are retired, never dropped)."""
    from kehu.db.sync import MigrationBusy, SyncRefused

    site = _app().extensions["kehu"]
    try:
        plan = site.plan()
        if dry_run or plan.empty:
            for line in plan.lines():
                click.echo(("  " if not plan.empty else "") + line)
        if dry_run:
            return
        if not plan.empty:
            click.echo(f"Applying {len(plan.steps)} step(s) in one transaction:")
        try:  # also with nothing to change: the metadata version is recorded (running workers check it)
            site.migrate(force=force, lock_timeout=lock_timeout, attempts=retries,
                         progress=_step_printer(len(plan.steps)))
        except SyncRefused as exc:
            click.echo(f"Nothing was changed. {exc}", err=True)
            sys.exit(1)
        except MigrationBusy as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
        if not plan.empty:
            click.echo(f"Applied {len(plan.steps)} step(s).")
    finally:
        site.engine.dispose()  # no connection left open behind the command


def _step_printer(total: int):
    """Print each migration step as it is applied, numbered."""
    done = [0]

    def report(step) -> None:
        done[0] += 1
        click.echo(f"  [{done[0]}/{total}] {step}")
    return report


@main.command()
@click.option("--scale", default=1.0, show_default=True, type=float, help="Multiply the demo's row counts.")
def demo(scale):
    """Migrate, then load deterministic demo data (once) and print the logins."""
    from kehu.demo import DEMO_PASSWORD, load_demo

    site = _app().extensions["kehu"]
    steps = len(site.plan().steps)
    if steps:
        click.echo(f"Creating the database ({steps} step(s))…")
    site.migrate()
    if site.user_count():
        click.echo("Demo data is already loaded.")
        logins = []
    else:
        click.echo("Loading demo data (a minute or two)…")
        logins = load_demo(site, scale=scale, progress=_count_printer())
    for username, _password, who in logins:
        click.echo(f"  {username:<10} {who}")
    port = os.environ.get("PORT") or "5000"
    click.echo(f"Sign in at http://127.0.0.1:{port}/ as  admin / {DEMO_PASSWORD}")
    click.echo(f"(every demo user above has the password {DEMO_PASSWORD}; e.g. zhaolei is a sales rep, "
               "liqiang his manager, zhangwei the general manager)")


def _count_printer():
    """Print how many records of an entity the demo has loaded so far."""
    def report(entity, count: int) -> None:
        name = "Users (用户)" if entity is None else f"{entity.plural_label.en} ({entity.plural_label.zh})"
        click.echo(f"  {name:<36} {count:>7,}")
    return report


@main.command("create-user")
@click.argument("username")
@click.option("--name", "display_name", required=True)
@click.option("--admin", is_flag=True)
@click.password_option()
def create_user(username, display_name, admin, password):
    """Create a user who can sign in."""
    site = _app().extensions["kehu"]
    site.create_user(username, password, display_name, is_admin=admin)
    click.echo(f"Created {username}.")


if __name__ == "__main__":
    main()


@main.command()
def remind():
    """Remind managers of approvals waiting past their step's time limit (run it from cron;
    each overdue approval is reminded once)."""
    from kehu.site import SYSTEM_ACTOR

    site = _app().extensions["kehu"]
    sent = site.records(SYSTEM_ACTOR).approvals.send_reminders()
    click.echo(f"Sent {sent} reminder(s).")
