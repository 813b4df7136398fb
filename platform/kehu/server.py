"""The production server: gunicorn running ``kehu.create_app()`` in each worker process.

Each worker builds its own app (and database connections) after the fork, so no connection is
shared between processes; the settings come from the environment as for every ``kehu``
command. ``gunicorn 'kehu:create_app()'`` does the same from gunicorn's own command line.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


OPTIONAL = {"control_socket_disable"}


class GunicornServer(BaseApplication):
    """gunicorn with its options given here, not read from the command line."""

    def __init__(self, options: dict):
        self.options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in OPTIONAL and key not in self.cfg.settings:
                continue  # a setting of newer gunicorn versions
            self.cfg.set(key, value)

    def load(self):
        from kehu import create_app

        return create_app()


def options(host: str, port: int, workers: int, threads: int = 2) -> dict:
    """gunicorn's settings for ``kehu serve``: threaded workers, the access log on stdout."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "accesslog": "-",
        "errorlog": "-",
        "timeout": 120,
        "graceful_timeout": 10,
        "proc_name": "kehu",
        # gunicorn 24+ opens a control socket shared by every gunicorn of the user; not needed
        "control_socket_disable": True,
    }


def build(host: str, port: int, workers: int) -> GunicornServer:
    return GunicornServer(options(host, port, workers))
