"""Faults: the database down or unreadable, a schema that lags the metadata, a full disk, a
migration that meets a locked table. Each answers with a clear message (never a bare 500
or a traceback), changes nothing, leaves no orphan file, and recovers by itself."""

from __future__ import annotations

import errno
import io
import os
import shutil
import socket
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from kehu import create_app
from kehu.cli import main
from kehu.db.engine import is_disk_full, is_lock_timeout
from kehu_testing import FIXTURE_PACK, PG_URL, Client, fresh_database, make_site, real_packs, soup, write

needs_postgres = pytest.mark.skipif(not PG_URL, reason="needs a PostgreSQL server (KEHU_TEST_DATABASE_URL)")


OPEN_APPS: list = []


@pytest.fixture(autouse=True)
def _dispose_apps():
    yield
    while OPEN_APPS:
        OPEN_APPS.pop().extensions["kehu"].engine.dispose()


def make_app(url, tmp_path, packs=None, migrate=True):
    settings = {"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "test-secret",
                "BASE_PACK": FIXTURE_PACK, "PLUGINS_DIR": None}
    if packs:
        settings["PACKS"] = [str(p) for p in packs]
    app = create_app(settings)
    OPEN_APPS.append(app)
    if migrate:
        app.extensions["kehu"].migrate()
        app.extensions["kehu"].create_user("admin", "secret-pw", "管理员", is_admin=True, locale="en")
    return app


def assert_unavailable(response, reason="down"):
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    page = soup(response)
    section = page[".unavailable"][0]
    assert section["data-reason"] == reason
    assert [h.get("lang") for h in section.select("h1")] == ["zh-CN", "en"]  # both languages, no session needed
    return section.get_text(" ", strip=True)


# ------------------------------------------------------------------ database down
def test_an_unreadable_sqlite_file_answers_503_and_the_app_recovers(tmp_path):
    """The database file cannot be opened (root ignores ``chmod 000``, so the file is moved
    aside and a directory stands in its place), then it comes back."""
    db = tmp_path / "kehu.db"
    app = make_app(f"sqlite:///{db}", tmp_path)
    client = Client(app.test_client())
    client.login()
    assert client.get("/app/account/").status_code == 200
    site = app.extensions["kehu"]
    site.engine.dispose()  # the pool's open connections would keep the old file
    aside = tmp_path / "aside"
    aside.mkdir()
    for path in tmp_path.glob("kehu.db*"):
        shutil.move(path, aside / path.name)
    db.mkdir()
    try:
        for url in ("/", "/app/account/", "/-/approvals"):
            text = assert_unavailable(client.get(url))
            assert "temporarily unavailable" in text and "暂时无法" in text
        swap = client.get("/app/account/", headers={"HX-Request": "true"})
        assert_unavailable(swap)
        assert swap.headers["HX-Refresh"] == "true"  # a partial request reloads to the whole page
        signed_out = Client(app.test_client())
        assert_unavailable(signed_out.post_form("/-/login", {"username": "admin", "password": "secret-pw"}))
    finally:
        db.rmdir()
        for path in aside.iterdir():
            shutil.move(path, tmp_path / path.name)
    assert client.get("/app/account/").status_code == 200  # back by itself, still signed in


def test_a_closed_postgresql_port_answers_503(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = make_app(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test", tmp_path, migrate=False)
    client = app.test_client()
    for url in ("/-/login", "/", "/app/account/"):
        assert "temporarily unavailable" in assert_unavailable(client.get(url))


class Proxy:
    """A TCP forwarder to the PostgreSQL server that can be stopped (the database "goes
    down": connections drop, new ones are refused) and started again on the same port."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.listener = None

    def start(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(16)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone may not)
        except OSError:
            pass
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.sockets = []


@needs_postgres
def test_postgresql_going_down_answers_503_and_the_app_recovers(tmp_path):
    from sqlalchemy.engine import make_url

    with fresh_database(tmp_path) as url:
        real = make_url(url)
        proxy = Proxy((real.host, real.port or 5432))
        proxy.start()
        app = make_app(url.replace(f"{real.host}:{real.port or 5432}", f"127.0.0.1:{proxy.port}"), tmp_path)
        try:
            client = Client(app.test_client())
            client.login()
            assert client.get("/app/account/").status_code == 200
            proxy.stop()
            for url_ in ("/", "/app/account/"):
                assert "temporarily unavailable" in assert_unavailable(client.get(url_))
            proxy.start()
            assert client.get("/app/account/").status_code == 200  # pooled connections replaced
        finally:
            proxy.stop()
            app.extensions["kehu"].engine.dispose()


# ------------------------------------------------------------------ schema lag
def extra_field_pack(root: Path) -> Path:
    write(root, "metadata/pack.yaml", """
        kind: pack
        name: extra
        label: {en: Extra, zh: 扩展}
        version: "1.0"
        requires: [base]
    """)
    write(root, "metadata/entities/account.yaml", """
        kind: entity
        name: account
        fields:
          region:
            type: text
            label: {en: Region, zh: 区域}
            max_length: 40
    """)
    return root


def test_a_worker_on_a_lagging_schema_refuses_until_migrated(db_url, tmp_path):
    old = make_app(db_url, tmp_path)  # migrated without the extra field
    pack = extra_field_pack(tmp_path / "extra")
    new = make_app(db_url, tmp_path, packs=[pack], migrate=False)  # a worker with newer metadata
    client = Client(new.test_client())
    for url in ("/-/login", "/", "/app/account/", "/app/account/new"):
        text = assert_unavailable(client.get(url), "schema")
        assert "kehu migrate" in text and "数据库尚未更新" in text
    css = client.get("/-/static/kehu.css")  # the page's own stylesheet still loads
    assert css.status_code == 200
    css.close()
    new.extensions["kehu"].migrate()  # an administrator runs kehu migrate
    client.login()
    assert client.get("/app/account/").status_code == 200  # picked up at once, no restart
    site = new.extensions["kehu"]
    saved = site.records(site.actor(site.authenticate("admin", "secret-pw")), "en").create(
        "account", {"name": "Regional", "region": "north"})
    assert saved["region"] == "north"
    # the older worker still serves: the database has more than it needs, nothing less
    older = Client(old.test_client())
    older.login()
    assert older.get("/app/account/").status_code == 200


def test_a_database_never_migrated_answers_the_schema_page_not_500(db_url, tmp_path):
    app = make_app(db_url, tmp_path, migrate=False)
    assert_unavailable(app.test_client().get("/-/login"), "schema")


def test_creating_the_app_reads_no_database(tmp_path):
    """The check is lazy: tests and tools create the app, then migrate."""
    missing = tmp_path / "nowhere" / "deeper"
    app = make_app(f"sqlite:///{missing}/kehu.db", tmp_path, migrate=False)
    assert app.extensions["kehu"]._schema_ok_until == 0.0


# ------------------------------------------------------------------ disk full
def test_a_full_database_disk_is_a_clear_message_and_saving_works_once_space_is_freed(tmp_path):
    """SQLite's max_page_count makes the database file "full" (SQLITE_FULL, as on a full disk)."""
    app = make_app(f"sqlite:///{tmp_path}/kehu.db", tmp_path)
    site = app.extensions["kehu"]
    client = Client(app.test_client())
    client.login()
    site.engine.dispose()
    with site.engine.connect() as c:
        pages = c.exec_driver_sql("PRAGMA page_count").scalar()
    limit = {"pages": pages}

    @sa.event.listens_for(site.engine, "connect")
    def _cap(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA max_page_count={int(limit['pages'])}")

    site.engine.dispose()
    files = site.attachments.folder
    form = soup(client.get("/app/account/new"))
    token = form["input[name=form_token]"][0]["value"]
    data = {"name": "Big", "notes": "n" * 500, "profile": "<p>" + "p" * 150_000 + "</p>", "form_token": token,
            "contract": (io.BytesIO(b"signed contract"), "contract.txt")}
    full = client.post_form("/app/account/new", data, content_type="multipart/form-data")
    assert full.status_code == 422
    page = soup(full)
    assert "disk is full" in page.text(".alert.error"), page.doc.select(".invalid, .errors, .alert")
    assert page["[name=notes]"][0].get_text() == "n" * 500  # what was typed is still there
    assert (list(files.iterdir()) if files.exists() else []) == []  # the stored upload was removed
    limit["pages"] = 1_000_000  # space is freed
    site.engine.dispose()
    data["contract"] = (io.BytesIO(b"signed contract"), "contract.txt")
    saved = client.post_form("/app/account/new", data, content_type="multipart/form-data")
    assert saved.status_code == 303
    assert len(list(files.iterdir())) == 1


def test_a_full_disk_at_upload_is_a_clear_message_and_leaves_no_half_file(client, monkeypatch):
    from kehu.attachments import AttachmentStore

    real_write = AttachmentStore.__dict__["_write"]

    def full_disk(path, data):
        with open(path, "wb") as out:
            out.write(data[: len(data) // 2])  # the disk fills up half way
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    client.login()
    folder = client.application.extensions["kehu"].attachments.folder
    monkeypatch.setattr(AttachmentStore, "_write", staticmethod(full_disk))
    data = {"name": "Upload Co", "contract": (io.BytesIO(b"0123456789"), "contract.txt")}
    refused = client.post_form("/app/account/new", dict(data), content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "disk is full" in soup(refused).text("[data-field=contract]")
    assert list(folder.iterdir()) == []
    monkeypatch.setattr(AttachmentStore, "_write", real_write)  # space freed
    data["contract"] = (io.BytesIO(b"0123456789"), "contract.txt")
    assert client.post_form("/app/account/new", data, content_type="multipart/form-data").status_code == 303
    stored = list(folder.iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == b"0123456789"


def test_database_errors_are_told_apart():
    class Orig(Exception):
        def __init__(self, text, sqlstate=None):
            super().__init__(text)
            self.sqlstate = sqlstate

    def wrapped(text, sqlstate=None):
        return sa.exc.OperationalError("INSERT ...", {}, Orig(text, sqlstate))

    assert is_disk_full(wrapped("database or disk is full"))
    assert is_disk_full(wrapped('could not extend file "base/1/2": No space left on device', "53100"))
    assert not is_disk_full(wrapped("connection refused"))
    assert is_lock_timeout(wrapped("canceling statement due to lock timeout", "55P03"))
    assert is_lock_timeout(wrapped("database is locked"))
    assert not is_lock_timeout(wrapped("database or disk is full"))


# ------------------------------------------------------------------ migrate and locks
@needs_postgres
def test_migrate_gives_up_on_a_locked_table_with_a_clear_message(db_url, tmp_path):
    """A long report holds a lock on the customer table while ``kehu migrate`` adds a column
    to it: each attempt waits at most the lock time-out, then it stops with a message (no
    traceback) and nothing changed; once the lock is gone, it applies."""
    site = make_site(db_url, tmp_path, packs=real_packs())  # the real packs, migrated
    pack = write(tmp_path / "extra", "metadata/pack.yaml", """
        kind: pack
        name: extra
        label: {en: Extra, zh: 扩展}
        version: "1.0"
        requires: [base]
    """).parent.parent
    write(pack, "metadata/entities/customer.yaml", """
        kind: entity
        name: customer
        fields:
          region_code:
            type: text
            label: {en: Region code, zh: 区域编码}
            max_length: 40
    """)
    env = {"KEHU_DATABASE_URL": db_url, "KEHU_INSTANCE_PATH": str(tmp_path / "instance"), "KEHU_SECRET_KEY": "x",
           "KEHU_PACKS": str(pack)}
    runner = CliRunner()
    with site.engine.connect() as report:
        report.exec_driver_sql("LOCK TABLE customer IN ACCESS SHARE MODE")
        busy = runner.invoke(main, ["migrate", "--lock-timeout", "0.2", "--retries", "2"], env=env)
        report.rollback()
    assert busy.exit_code == 1, busy.output
    assert "The database is busy" in busy.output and "Nothing was changed" in busy.output
    assert "Traceback" not in busy.output and isinstance(busy.exception, SystemExit)
    assert "region_code" not in {c["name"] for c in sa.inspect(site.engine).get_columns("customer")}
    done = runner.invoke(main, ["migrate", "--lock-timeout", "0.2"], env=env)
    assert done.exit_code == 0, done.output
    assert "region_code" in {c["name"] for c in sa.inspect(site.engine).get_columns("customer")}
    site.engine.dispose()
