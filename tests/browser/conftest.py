"""Browser tests: Playwright drives Debian's Chromium against a live server in a thread."""

from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from kehu import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not shutil.which(CHROMIUM):
    pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it as root)", allow_module_level=True)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ["--disable-gpu", "--disable-quic"]}


@pytest.fixture
def live_site(tmp_path):
    """The real base pack on a file SQLite database, served on a free local port."""
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/browser.db", "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SECRET_KEY": "browser-test"})
    site = app.extensions["kehu"]
    site.migrate()
    site.create_user("admin", "secret-pw", "管理员", is_admin=True, locale="zh")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", site
    server.shutdown()
    thread.join(timeout=5)
    site.engine.dispose()
