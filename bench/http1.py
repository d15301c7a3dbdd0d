"""A minimal keep-alive HTTP/1.1 client over asyncio streams, built for measuring.

Only what the load generator needs: one request at a time per connection, and bodies framed
by Content-Length, by chunked transfer encoding, or by the connection closing. Streamed bodies
go to a callback together with the arrival time of the network read that completed them,
which is what a benchmark client timestamps.
"""

import asyncio
from collections.abc import Callable
from time import perf_counter

READ_SIZE = 65536
MAX_HEAD_BYTES = 65536

DataSink = Callable[[bytes, float], None]


class ConnectionClosedError(Exception):
    """The peer closed the connection before the response was complete."""


class ProtocolError(Exception):
    """The peer sent something this client does not understand."""


class ResponseHead:
    """Status and the framing headers of one response."""

    __slots__ = ("chunked", "content_length", "keep_alive", "status")

    def __init__(self, status: int, content_length: int | None, chunked: bool, keep_alive: bool) -> None:
        self.status = status
        self.content_length = content_length
        self.chunked = chunked
        self.keep_alive = keep_alive


def build_request(  # noqa: PLR0917 - the parts of a request line, in order
    method: str, host: str, port: int, path: str, body: bytes = b"", headers: tuple[str, ...] = ()
) -> bytes:
    """The exact bytes of a request, built once and sent many times; `headers` as `Name: value`."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: */*", *headers]
    if body or method in {"POST", "PUT", "PATCH"}:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _parse_head(raw: bytes) -> ResponseHead:
    lines = raw.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ProtocolError(f"bad status line {lines[0][:80]!r}")
    status = int(parts[1])
    keep_alive = parts[0] == b"HTTP/1.1"
    content_length: int | None = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            content_length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            token = value.strip().lower()
            if token == b"close":
                keep_alive = False
            elif token == b"keep-alive":
                keep_alive = True
    if chunked:
        content_length = None
    return ResponseHead(status, content_length, chunked, keep_alive)


def _end_of_last_chunk(buf: bytes, line_end: int) -> int:
    """Where the body ends after the last chunk's size line: past the trailers' empty line, or -1."""
    if buf.startswith(b"\r\n", line_end + 2):
        return line_end + 4
    trailer_end = buf.find(b"\r\n\r\n", line_end + 2)
    return trailer_end + 4 if trailer_end >= 0 else -1


class HTTPConnection:
    """One keep-alive connection; `last_read_s` is the perf_counter time of the latest read."""

    __slots__ = ("_buf", "_reader", "_writer", "last_read_s")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._buf = b""
        self.last_read_s = 0.0

    @classmethod
    async def open(cls, host: str, port: int) -> "HTTPConnection":
        reader, writer = await asyncio.open_connection(host, port, limit=READ_SIZE * 4)
        return cls(reader, writer)

    def close(self) -> None:
        self._writer.close()

    def send(self, request: bytes) -> None:
        """Queue the request bytes; the transport writes them at once (they are small)."""
        self._writer.write(request)

    async def _fill(self) -> None:
        data = await self._reader.read(READ_SIZE)
        self.last_read_s = perf_counter()
        if not data:
            raise ConnectionClosedError("connection closed by peer")
        self._buf += data

    async def read_head(self) -> ResponseHead:
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end >= 0:
                raw, self._buf = self._buf[:end], self._buf[end + 4 :]
                head = _parse_head(raw)
                if 100 <= head.status < 200:  # interim response: skip it
                    continue
                return head
            if len(self._buf) > MAX_HEAD_BYTES:
                raise ProtocolError("response head too large")
            await self._fill()

    async def read_body(self, head: ResponseHead) -> bytes:
        """The whole body."""
        pieces: list[bytes] = []
        await self.stream_body(head, lambda data, _t: pieces.append(data))
        return b"".join(pieces)

    async def stream_body(self, head: ResponseHead, sink: DataSink) -> None:
        """Hand each piece of body data to `sink` with the time of the read that brought it."""
        if head.chunked:
            await self._stream_chunked(sink)
        elif head.content_length is not None:
            await self._stream_sized(head.content_length, sink)
        else:
            await self._stream_until_close(sink)

    async def _stream_sized(self, remaining: int, sink: DataSink) -> None:
        while True:
            if self._buf:
                take = self._buf[:remaining]
                self._buf = self._buf[remaining:]
                remaining -= len(take)
                sink(take, self.last_read_s)
            if remaining == 0:
                return
            await self._fill()

    async def _stream_until_close(self, sink: DataSink) -> None:
        while True:
            if self._buf:
                sink(self._buf, self.last_read_s)
                self._buf = b""
            try:
                await self._fill()
            except ConnectionClosedError:
                return

    async def _stream_chunked(self, sink: DataSink) -> None:
        # The hot path of a streaming benchmark: one pass per network read, locals only.
        buf = self._buf
        read = self._reader.read
        t = self.last_read_s
        while True:
            pos = 0
            pieces: list[bytes] = []
            finished = False
            while True:
                line_end = buf.find(b"\r\n", pos)
                if line_end < 0:
                    break
                try:
                    size = int(buf[pos:line_end], 16)
                except ValueError:  # a chunk extension
                    size = int(buf[pos:line_end].split(b";", 1)[0], 16)
                if size == 0:
                    end = _end_of_last_chunk(buf, line_end)
                    if end >= 0:
                        pos = end
                        finished = True
                    break
                start = line_end + 2
                end = start + size
                if len(buf) < end + 2:
                    break
                pieces.append(buf[start:end])
                pos = end + 2
            if pieces:
                sink(pieces[0] if len(pieces) == 1 else b"".join(pieces), t)
            if pos:
                buf = buf[pos:]
            if finished:
                self._buf = buf
                self.last_read_s = t
                return
            data = await read(READ_SIZE)
            t = perf_counter()
            if not data:
                raise ConnectionClosedError("connection closed by peer")
            buf = buf + data if buf else data
