"""The wheel carries the engine and the base pack, so an installed Kehu finds its metadata."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from kehu_testing import REPO


def test_wheel_bundles_the_base_pack_schemas_and_static_files(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("kehu-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "kehu/_base/metadata/pack.yaml",
        "kehu/_base/metadata/entities/customer.yaml",
        "kehu/_base/layouts/customer.form.yaml",
        "kehu/_base/plugins/it_service/metadata/pack.yaml",
        "kehu/metadata/schemas/entity.json",
        "kehu/web/templates/records/_list.html",
        "kehu/web/static/vendor/htmx-2.0.11.min.js",
    ):
        assert expected in names, expected
    assert not any(name.startswith("platform/") or name.startswith("tests/") for name in names)
