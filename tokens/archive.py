"""An order's token files as one ZIP, written while it is sent.

``zipfile`` of the standard library writes to a stream that cannot seek (each member's sizes
and CRC follow it in a data descriptor), so the archive is produced a block at a time and
never held whole, on disk or in memory. Members are stored, not deflated: the .xlsx parts are
ZIP files already and the CSV's random values shrink little, while deflating 100 MB would cost
the serving process seconds of CPU per download.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import closing

from refurb_portal.private_files import private_file_open
from tokens.selectors import StoredFile

MANIFEST_NAME = "SHA256SUMS"
BLOCK_BYTES = 1 << 20


class _Sink(io.RawIOBase):
    """A write-only stream that keeps what was written until ``take`` hands it on."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def sha256sums(files: Iterable[StoredFile]) -> str:
    """The manifest as GNU ``sha256sum`` writes it (``<hex>  <name>`` per line), so
    ``sha256sum -c SHA256SUMS`` checks the unpacked files against the hashes recorded when
    each was made. Names are ASCII identifiers (order and delivery numbers), no escaping."""
    return "".join(f"{f.sha256}  {f.name}\n" for f in files)


def zip_stream(files: list[StoredFile]) -> Iterator[bytes]:
    """Yield the bytes of a ZIP holding each of ``files`` once, then ``SHA256SUMS``.

    Each member is read from private storage as it arrives (on S3 the object's body, never a
    whole local copy) in blocks of ``BLOCK_BYTES``; memory stays at about one block whatever
    the sizes (ZIP64 where a member needs it). Raises ``FileNotFoundError`` for a missing file.
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for stored in files:
            info = zipfile.ZipInfo(stored.name, date_time=stored.made_at.timetuple()[:6])
            info.external_attr = 0o644 << 16
            source = private_file_open(stored.storage_name, allow_redirect=False).stream
            assert source is not None  # never redirected
            with (
                closing(source),
                archive.open(
                    info, "w", force_zip64=stored.size_bytes >= zipfile.ZIP64_LIMIT
                ) as member,
            ):
                while block := source.read(BLOCK_BYTES):
                    member.write(block)
                    if data := sink.take():
                        yield data
        manifest = zipfile.ZipInfo(MANIFEST_NAME, date_time=files[-1].made_at.timetuple()[:6])
        manifest.external_attr = 0o644 << 16
        archive.writestr(manifest, sha256sums(files))
    yield sink.take()
