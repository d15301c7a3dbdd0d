"""The multipart form of a media request: its fields and files, read under our limits.

The body limit is the route handler's (`request_max_body_size`, `--media-max-upload-bytes`):
Litestar answers 413 above it before the form is parsed. What this adds: a clear 400 for a
body that is not a multipart form, and fields and files split apart, files read into bytes.
"""

from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import UploadFile

from mockcore.errors import RequestError


class UploadedFile(msgspec.Struct, frozen=True):
    """One file part: its name as the client gave it, its declared type and its bytes."""

    filename: str
    content_type: str
    data: bytes


class UploadedForm(msgspec.Struct, frozen=True):
    """The text fields (every value of a repeated name, in order) and the file parts."""

    fields: dict[str, list[str]]
    files: dict[str, list[UploadedFile]]

    def field(self, name: str) -> str | None:
        """The last value of text field `name`, or None."""
        values = self.fields.get(name)
        return values[-1] if values else None

    def file(self, name: str) -> UploadedFile | None:
        """The first file of part `name`, or None."""
        files = self.files.get(name)
        return files[0] if files else None


async def read_upload_form(request: Request[Any, Any, Any]) -> UploadedForm:
    """The request's multipart form; RequestError (400) if the body is not one."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "multipart/form-data":
        msg = f"This route takes a multipart/form-data body, not {media_type or 'a body without a type'}."
        raise RequestError(msg, None)
    form = await request.form()
    fields: dict[str, list[str]] = {}
    files: dict[str, list[UploadedFile]] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            await value.close()
            part = UploadedFile(
                filename=value.filename or "", content_type=value.content_type or "", data=data
            )
            files.setdefault(name, []).append(part)
        else:
            fields.setdefault(name, []).append(str(value))
    return UploadedForm(fields=fields, files=files)
