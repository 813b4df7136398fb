"""What an uploaded file's name may be, and what its content must start with for its extension.

An attachment is kept under a generated name and served as a download, so its own name is
only shown; still, a name with control characters (a NUL, a right-to-left override that
makes ``invoice<RLO>fdp.exe`` read as ``invoiceexe.pdf``) or with folder parts is refused
or reduced to its last part, never stored as sent. The content is checked against the
extension by its first bytes (the "magic number" every such format starts with): a
``.png`` that is really a web page, or a ``.pdf`` that is not a PDF, is refused.
Extensions a pack adds that are not listed here get the active-content check only.
"""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath

from kehu.fields.base import tr

MAX_NAME = 200

_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)  # legacy Office (doc, xls, ppt)
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # zip and the Office Open XML formats built on it
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "bmp": (b"BM",),
    "tif": (b"II*\x00", b"MM\x00*"),
    "tiff": (b"II*\x00", b"MM\x00*"),
    "zip": _ZIP,
    "docx": _ZIP,
    "xlsx": _ZIP,
    "pptx": _ZIP,
    "odt": _ZIP,
    "ods": _ZIP,
    "doc": _OLE,
    "xls": _OLE,
    "ppt": _OLE,
    "7z": (b"7z\xbc\xaf\x27\x1c",),
    "rar": (b"Rar!\x1a\x07",),
    "gz": (b"\x1f\x8b",),
}
TEXT = frozenset({"txt", "csv", "tsv", "log", "md"})
# content a browser could run as a page, whatever the name says
ACTIVE_CONTENT = (b"<!doctype html", b"<html", b"<svg", b"<script", b"<?xml", b"<head", b"<body", b"<iframe",
                  b"<object", b"<embed", b"<meta", b"<!--")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def clean_name(filename: str, lang: str) -> tuple[str | None, str | None]:
    """(the name to keep, None) or (None, why it is refused). Folder parts are dropped (an
    old browser may send the whole Windows path); control and bidirectional-formatting
    characters refuse the name before any other check."""
    for char in filename:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            return None, tr(lang, f"The file name contains an invisible or control character (U+{ord(char):04X}); rename the file and upload it again.",
                            f"文件名包含不可见字符或控制字符（U+{ord(char):04X}），请重命名后再上传。")
    name = unicodedata.normalize("NFC", PurePosixPath(filename.replace("\\", "/")).name).strip()
    if not name or name in (".", "..") or not name.strip("."):
        return None, tr(lang, "Upload a file with a name.", "请上传有文件名的文件。")
    if len(name) > MAX_NAME:
        return None, tr(lang, f"The file name is longer than {MAX_NAME} characters; rename the file and upload it again.",
                        f"文件名超过 {MAX_NAME} 个字符，请重命名后再上传。")
    return name, None


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def content_problem(ext: str, data: bytes, lang: str) -> str | None:
    """Why ``data`` cannot be kept as a ``.ext`` file, or None."""
    head = data[:1024]
    start = head
    for bom in _BOMS:
        if start.startswith(bom):
            start = start[len(bom):]
            break
    if any(start.lstrip().lower().startswith(sig) for sig in ACTIVE_CONTENT) and ext not in SIGNATURES:
        return tr(lang, "Web pages and SVG images cannot be attached.", "不能上传网页或 SVG 文件。")
    wrong = tr(lang, f"This is not a real .{ext} file: its content does not match its name. Upload the original file.",
               f"这不是真正的 .{ext} 文件：文件内容与扩展名不符。请上传原始文件。")
    if ext == "pdf":
        return None if b"%PDF-" in head else wrong  # the header may follow up to 1 KB of other bytes
    if ext in SIGNATURES:
        return None if head.startswith(SIGNATURES[ext]) else wrong
    if ext in TEXT:
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return None  # UTF-16 text, as Excel's "Unicode text" saves it
        if b"\x00" in data[:8192]:
            return wrong
        return None
    return None
