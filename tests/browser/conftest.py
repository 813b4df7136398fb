"""Browser tests: Playwright drives Debian's Chromium against a live server in a thread.

Without Chromium the browser tests are skipped on a developer's machine (with the reason
printed), but they FAIL under CI (``CI=true``) or with ``KEHU_REQUIRE_BROWSER=1``: a CI run
must never pass because its browser tests silently did not run. ``KEHU_CHROMIUM`` names
another Chromium binary. A Chromium that is there
but cannot be launched fails the tests everywhere (pytest-playwright's ``browser`` fixture).
"""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from kehu import create_app

CHROMIUM = os.environ.get("KEHU_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def browser_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("KEHU_REQUIRE_BROWSER") == "1"


def require_chromium() -> None:
    """Skip (a developer's machine) or fail (CI) when Debian's Chromium is missing."""
    if shutil.which(CHROMIUM):
        return
    message = (f"Debian's chromium is not installed ({CHROMIUM} not found): run scripts/test.sh as root, "
               "or apt-get install chromium fonts-wqy-microhei")
    if browser_required():
        pytest.fail(f"browser tests are required here (CI=true or KEHU_REQUIRE_BROWSER=1) but cannot run: {message}",
                    pytrace=False)
    pytest.skip(message)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    require_chromium()
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
