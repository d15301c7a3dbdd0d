"""The multipart form of a media request: its fields and files, read under our limits.

The body limit is the route handler's (`request_max_body_size`, `--media-max-upload-bytes`):
Litestar answers 413 above it while the body arrives. The body is then parsed with
`multipart` (the parser Litestar itself uses) straight into bytes, which takes about 0.3 ms
per megabyte (its scans are `bytes.find`): on the event loop up to `INLINE_PARSE_BYTES`, as a
media job on the media threads above. A megabyte parsed on the loop was most of what a
transcription cost it, and with eight requests ready at once the loop ran eight of them back
to back (bench.media_stall: the longest stall 16-19 ms at 450 transcriptions a second, 9-12 ms
with the parse on the media threads). Litestar's own `request.form()` spools
every file through an `UploadFile` with an await per chunk. A body that is not a multipart
form, or a form that does not parse, is a 400.
"""

from typing import Any

import msgspec
from litestar import Request
from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser

from mockcore.errors import RequestError
from mockhttp.media_jobs import MediaJobs

MAX_PARTS = 64  # a form part count no media request comes near
INLINE_PARSE_BYTES = 256 * 1024  # parsed on the event loop up to this: under 0.1 ms


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


def _boundary(content_type: str) -> str:
    """The form's boundary; RequestError if the body is not declared a multipart form."""
    media_type, _, parameters = content_type.partition(";")
    media_type = media_type.strip().lower()
    if media_type != "multipart/form-data":
        msg = f"This route takes a multipart/form-data body, not {media_type or 'a body without a type'}."
        raise RequestError(msg, None)
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "boundary" and value.strip().strip('"'):
            return value.strip().strip('"')
    raise RequestError("The multipart/form-data body has no boundary in its Content-Type.", None)


def parse_upload_form(body: bytes, boundary: str) -> UploadedForm:
    """The fields and files of a multipart `body`; RequestError (400) if it does not parse."""
    fields: dict[str, list[str]] = {}
    files: dict[str, list[UploadedFile]] = {}
    segment: MultipartSegment | None = None
    chunks: list[bytes] = []
    try:
        with PushMultipartParser(boundary, max_segment_count=MAX_PARTS) as parser:
            for event in (*parser.parse(body), *parser.parse(b"")):
                if isinstance(event, MultipartSegment):
                    segment, chunks = event, []
                elif event:
                    chunks.append(event)
                elif segment is not None:  # the end of a part
                    data = b"".join(chunks)
                    name = segment.name or ""
                    if segment.filename is not None:
                        upload = UploadedFile(segment.filename, segment.content_type or "", data)
                        files.setdefault(name, []).append(upload)
                    else:
                        fields.setdefault(name, []).append(data.decode(segment.charset or "utf-8", "replace"))
                    segment = None
    except ParserLimitReached:
        msg = f"The multipart/form-data body has more than {MAX_PARTS} parts."
        raise RequestError(msg, None) from None
    except ParserError as error:
        msg = f"The multipart/form-data body does not parse: {error}."
        raise RequestError(msg, None) from None
    return UploadedForm(fields=fields, files=files)


async def read_upload_form(request: Request[Any, Any, Any], jobs: MediaJobs) -> UploadedForm:
    """The request's multipart form (a large one parsed on a media thread); RequestError (400) if not one."""
    boundary = _boundary(request.headers.get("content-type", ""))
    body = await request.body()
    if len(body) <= INLINE_PARSE_BYTES:
        return parse_upload_form(body, boundary)
    return await jobs.run(parse_upload_form, body, boundary)
