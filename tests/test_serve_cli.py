"""``kehu serve`` runs gunicorn unless --debug; ``kehu migrate`` and ``kehu demo`` show progress.

The servers are never started: the tests stop at the boundary (gunicorn's ``run``, Flask's
``run``) and look at what would have been started, with which settings."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask import Flask

from kehu import cli as cli_module
from kehu import server


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch):
    """The ``kehu`` command over ``db_url`` and the real packs; engines disposed afterwards."""
    monkeypatch.setenv("KEHU_DATABASE_URL", db_url)
    monkeypatch.setenv("KEHU_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("KEHU_PACKS", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    apps = []
    real_app = cli_module._app

    def tracked_app(*args):
        apps.append(real_app(*args))
        return apps[-1]

    monkeypatch.setattr(cli_module, "_app", tracked_app)
    yield lambda *args: CliRunner().invoke(cli_module.main, list(args))
    for app in apps:
        app.extensions["kehu"].engine.dispose()


@pytest.fixture
def started(monkeypatch):
    """Records which server would have started, instead of starting it."""
    calls = []
    monkeypatch.setattr(server.GunicornServer, "run", lambda self: calls.append(("gunicorn", self)))
    monkeypatch.setattr(Flask, "run", lambda self, **kwargs: calls.append(("flask", kwargs)))
    return calls


def test_serve_runs_gunicorn_with_the_given_address_and_workers(cli, started):
    assert cli("migrate").exit_code == 0
    result = cli("serve", "--host", "0.0.0.0", "--port", "5105", "--workers", "3")
    assert result.exit_code == 0, result.output
    assert [kind for kind, _ in started] == ["gunicorn"]
    gunicorn = started[0][1]
    assert gunicorn.cfg.bind == ["0.0.0.0:5105"]
    assert gunicorn.cfg.workers == 3 and gunicorn.cfg.threads == 2 and gunicorn.cfg.worker_class_str == "gthread"
    assert "http://0.0.0.0:5105/" in result.output and "gunicorn" in result.output and "Ctrl-C" in result.output
    # each worker builds its own app from the environment
    app = gunicorn.load()
    try:
        assert isinstance(app, Flask) and "kehu" in app.extensions
    finally:
        app.extensions["kehu"].engine.dispose()


def test_serve_takes_the_port_from_the_environment(cli, started, monkeypatch):
    assert cli("migrate").exit_code == 0
    monkeypatch.setenv("PORT", "8123")
    assert cli("serve").exit_code == 0
    assert started[0][1].cfg.bind == ["127.0.0.1:8123"] and started[0][1].cfg.workers == 2


def test_serve_debug_runs_flasks_reloader_instead(cli, started):
    assert cli("migrate").exit_code == 0
    result = cli("serve", "--debug", "--port", "5105")
    assert result.exit_code == 0, result.output
    assert started == [("flask", {"host": "127.0.0.1", "port": 5105, "debug": True, "use_reloader": True})]


def test_serve_refuses_a_database_behind_its_metadata(cli, started):
    result = cli("serve")
    assert result.exit_code == 1 and "kehu migrate" in result.output
    assert started == []


def test_migrate_prints_each_step_as_it_applies(cli):
    planned = cli("migrate", "--dry-run").output.splitlines()
    result = cli("migrate")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    steps = [line for line in lines if line.startswith("  [")]
    assert lines[0] == f"Applying {len(planned)} step(s) in one transaction:"
    assert len(steps) == len(planned) and steps[0].startswith(f"  [1/{len(planned)}] ")
    assert steps[-1].startswith(f"  [{len(planned)}/{len(planned)}] ")
    assert sorted(s.split("] ", 1)[1] for s in steps) == sorted(p.strip() for p in planned)
    assert lines[-1] == f"Applied {len(planned)} step(s)."


def test_demo_prints_each_entitys_count_as_it_loads(cli, monkeypatch):
    import kehu.demo

    def fake_load(site, scale, progress):
        progress(None, 18)
        progress(site.metadata.entity("customer"), 1500)
        progress(site.metadata.entity("contact"), 3000)
        return [("admin", "kehu2026", "系统管理员")]

    monkeypatch.setattr(kehu.demo, "load_demo", fake_load)
    monkeypatch.setenv("PORT", "8123")
    result = cli("demo")
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert lines[0].startswith("Creating the database (")
    assert "Users (用户) 18" in lines and "Customer (客户) 1,500" in lines and "Contact (联系人) 3,000" in lines
    assert lines[-2] == "Sign in at http://127.0.0.1:8123/ as admin / kehu2026"
