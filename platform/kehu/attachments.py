"""Attachment files: stored under generated names in the instance folder, never served inline.

Checks on upload (:mod:`kehu.filetypes`): a file name without control characters (reduced
to its last part), the size limit of the field, an extension allow-list, content that
starts the way its extension's format does, and nothing a browser could run as a page
(HTML, SVG). A refused file is never written.
"""

from __future__ import annotations

import errno
import json
import mimetypes
import secrets
from pathlib import Path

from kehu import filetypes
from kehu.fields.base import tr


class AttachmentStore:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, info: dict) -> Path:
        stored = info.get("stored", "")
        if not stored.isalnum():  # generated names only: no separators, no dots
            raise FileNotFoundError(stored)
        return self.folder / stored

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        with open(path, "xb") as out:
            out.write(data)

    def accept(self, field, upload, lang: str, errors: dict) -> str | None:
        """Store an uploaded file (a werkzeug FileStorage); return the value to keep in the column."""
        if upload is None:
            return None
        filename = getattr(upload, "filename", None)
        if not filename or not hasattr(upload, "stream"):
            errors.setdefault(field.name, []).append(tr(lang, "Upload a file.", "请上传文件。"))
            return None
        name, problem = filetypes.clean_name(filename, lang)
        if problem:
            errors.setdefault(field.name, []).append(problem)
            return None
        ext = filetypes.extension(name)
        from kehu.fields.builtin import Attachment

        allowed = field.get("extensions") or Attachment.default_extensions
        if ext not in allowed:
            errors.setdefault(field.name, []).append(tr(lang, f"Files of type .{ext or '?'} are not accepted; use {', '.join(allowed)}.",
                                                        f"不接受 .{ext or '?'} 类型的文件；可用：{', '.join(allowed)}。"))
            return None
        limit = int(float(field.get("max_size_mb", 10)) * 1024 * 1024)
        data = upload.stream.read(limit + 1)
        if len(data) > limit:
            errors.setdefault(field.name, []).append(tr(lang, f"The file is larger than {field.get('max_size_mb', 10)} MB.",
                                                        f"文件超过 {field.get('max_size_mb', 10)} MB。"))
            return None
        problem = filetypes.content_problem(ext, data, lang)
        if problem:
            errors.setdefault(field.name, []).append(problem)
            return None
        stored = secrets.token_hex(16)
        path = self.folder / stored
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._write(path, data)
        except OSError as exc:
            path.unlink(missing_ok=True)  # no half-written file left behind
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            errors.setdefault(field.name, []).append(tr(
                lang, "The server's disk is full, so the file was not stored. Try again later, or ask an administrator to free space.",
                "服务器磁盘已满，文件未能保存。请稍后重试，或请管理员释放磁盘空间。"))
            return None
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return json.dumps({"name": name, "stored": stored, "size": len(data), "type": kind}, ensure_ascii=False)
