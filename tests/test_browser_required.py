"""CI fails, rather than skips, when the browser tests cannot run (a dev machine skips)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent
ONE_BROWSER_TEST = str(TESTS / "browser" / "test_form_widgets_browser.py") + "::test_a_conditional_field_hides_and_shows_as_the_type_changes"


def run_without_chromium(tmp_path, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "KEHU_REQUIRE_BROWSER", "PYTEST_XDIST_WORKER",
                                                                 "PYTEST_XDIST_TESTRUNUID", "PYTEST_ADDOPTS")}
    environ.update(KEHU_CHROMIUM=str(tmp_path / "no-chromium-here"), **env)
    return subprocess.run([sys.executable, "-m", "pytest", ONE_BROWSER_TEST, "-p", "no:cacheprovider", "-q", "-rs",
                           "--basetemp", str(tmp_path / "run")],
                          cwd=TESTS.parent, env=environ, capture_output=True, text=True, timeout=300)


def test_without_chromium_a_developer_run_skips_with_the_reason(tmp_path):
    result = run_without_chromium(tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 skipped" in result.stdout and "chromium is not installed" in result.stdout


def test_without_chromium_a_ci_run_fails_and_says_why(tmp_path):
    for env in ({"CI": "true"}, {"KEHU_REQUIRE_BROWSER": "1"}):
        result = run_without_chromium(tmp_path, **env)
        assert result.returncode != 0, result.stdout[-2000:]
        assert "browser tests are required here" in result.stdout
        assert "skipped" not in result.stdout
