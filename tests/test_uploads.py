"""Uploaded files: the content must be what the extension says, the name carries no control
characters or folders, and a refused file leaves nothing behind."""

from __future__ import annotations

import io
import json
import zipfile
from types import MappingProxyType

import pytest
from werkzeug.datastructures import FileStorage

from kehu.errors import RecordInvalid
from kehu.metadata.model import Field, Label

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


def field(extensions=None) -> Field:
    props = {"type": "attachment"}
    if extensions:
        props["extensions"] = tuple(extensions)
    return Field("account", "contract", "attachment", Label("Contract", "合同"), MappingProxyType(props))


def accept(site, data: bytes, filename: str, extensions=None, lang="en"):
    errors: dict = {}
    value = site.attachments.accept(field(extensions), FileStorage(io.BytesIO(data), filename=filename), lang, errors)
    return value, errors.get("contract", [])


def stored_files(site) -> list:
    return list(site.attachments.folder.iterdir()) if site.attachments.folder.exists() else []


@pytest.mark.parametrize(("data", "filename"), [
    (PNG, "logo.png"), (JPEG, "photo.JPG"), (b"GIF89a\x01\x00", "anim.gif"), (PDF, "offer.pdf"),
    (b"junk before the header\n" + PDF, "scanned.pdf"), (docx(), "contract.docx"), (docx(), "prices.xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, "old.xls"), (b"PK\x05\x06" + b"\x00" * 18, "empty.zip"),
    ("名称,数量\n电脑,3\n".encode("gb18030"), "export.csv"), ("名称\t数量\n".encode("utf-16"), "unicode.txt"),
    (b"", "empty.txt"),
])
def test_files_whose_content_matches_their_extension_are_kept(site, data, filename):
    value, errors = accept(site, data, filename)
    assert errors == []
    info = json.loads(value)
    assert site.attachments.path(info).read_bytes() == data and info["name"] == filename


@pytest.mark.parametrize(("data", "filename", "message"), [
    (b"<html><script>alert(1)</script></html>", "logo.png", "This is not a real .png file: its content does not match its name. Upload the original file."),
    (b"%PDF-1.4 but named", "logo.png", "This is not a real .png file: its content does not match its name. Upload the original file."),
    (PNG, "offer.pdf", "This is not a real .pdf file: its content does not match its name. Upload the original file."),
    (b"MZ\x90\x00 an executable", "offer.pdf", "This is not a real .pdf file: its content does not match its name. Upload the original file."),
    (b"plain text", "contract.docx", "This is not a real .docx file: its content does not match its name. Upload the original file."),
    (PNG, "notes.txt", "This is not a real .txt file: its content does not match its name. Upload the original file."),
    (b"\xef\xbb\xbf<!DOCTYPE html><p>hi", "page.txt", "Web pages and SVG images cannot be attached."),
    (b"<svg onload=alert(1)>", "image.pdf", "Web pages and SVG images cannot be attached."),
    (JPEG, "photo.gif", "This is not a real .gif file: its content does not match its name. Upload the original file."),
])
def test_files_whose_content_does_not_match_are_refused_and_not_kept(site, data, filename, message):
    value, errors = accept(site, data, filename)
    assert (value, errors) == (None, [message])
    assert stored_files(site) == []


@pytest.mark.parametrize(("filename", "char"), [
    ("offer\x00.pdf", "U+0000"), ("offer\x1b[31m.pdf", "U+001B"), ("invoice\u202efdp.exe.pdf", "U+202E"),
    ("report\u200b.pdf", "U+200B"), ("a\nb.pdf", "U+000A"),
])
def test_file_names_with_control_characters_are_refused(site, filename, char):
    value, errors = accept(site, PDF, filename)
    assert value is None
    assert errors == [f"The file name contains an invisible or control character ({char}); rename the file and upload it again."]
    assert stored_files(site) == []


def test_file_names_lose_their_folders_and_keep_their_extension(site):
    value, errors = accept(site, PDF, "C:\\Users\\me\\Desktop\\报价单.pdf")
    assert errors == [] and json.loads(value)["name"] == "报价单.pdf"
    value, errors = accept(site, PDF, "../../etc/offer.pdf")
    assert errors == [] and json.loads(value)["name"] == "offer.pdf"
    value, errors = accept(site, PDF, "x" * 197 + ".pdf")
    assert errors == ["The file name is longer than 200 characters; rename the file and upload it again."]
    value, errors = accept(site, PDF, "../..")
    assert errors == ["Upload a file with a name."]


def test_messages_are_in_chinese_for_chinese_users(site):
    assert accept(site, PNG, "offer.pdf", lang="zh")[1] == ["这不是真正的 .pdf 文件：文件内容与扩展名不符。请上传原始文件。"]
    assert accept(site, PDF, "a\x00.pdf", lang="zh")[1] == ["文件名包含不可见字符或控制字符（U+0000），请重命名后再上传。"]


def test_a_refused_save_leaves_no_file_behind(svc, site):
    # the upload itself is fine, another field is not: the record is refused and the file removed
    with pytest.raises(RecordInvalid):
        svc.create("account", {"name": "Acme", "employees": "-5",
                               "contract": FileStorage(io.BytesIO(PDF), filename="offer.pdf")})
    assert stored_files(site) == []
    record = svc.create("account", {"name": "Acme", "contract": FileStorage(io.BytesIO(PDF), filename="offer.pdf")})
    assert len(stored_files(site)) == 1 and json.loads(record["contract"])["name"] == "offer.pdf"


def test_an_upload_through_the_form_is_refused_with_a_message(client, app):
    client.login()
    response = client.post_form("/app/account/new", {
        "name": "Acme", "contract": (io.BytesIO(b"<html><script>x</script>"), "contract.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Web pages and SVG images cannot be attached." in response.get_data(as_text=True)
    folder = app.extensions["kehu"].attachments.folder
    assert not folder.exists() or list(folder.iterdir()) == []
