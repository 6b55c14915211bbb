"""The bundle file: a plain tar of parts under dlab-bundle/, a manifest and SHA256SUMS at its end.

Parts are streamed in (an image goes from `docker save` through gzip straight into the tar), so the
writer needs a seekable file: each member's header is written again once its size is known.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
import zlib
from collections.abc import Iterator
from typing import IO

TOP = "dlab-bundle"
MANIFEST = "MANIFEST.json"
SUMS = "SHA256SUMS"
FORMAT = "dlab-bundle/1"
CHUNK = 1 << 20
BLOCK = tarfile.BLOCKSIZE


def sha256(data=b""):
    """hashlib.sha256, imported on first use: OpenSSL takes ~40 ms to load, too much for `dlab --help`."""
    import hashlib

    return hashlib.sha256(data)


def member_info(name, size=0):
    info = tarfile.TarInfo(f"{TOP}/{name}")
    info.size, info.mode, info.mtime = size, 0o644, int(time.time())
    return info


class Writer:
    """Adds parts to the bundle and remembers their sha256 and size for the manifest."""

    def __init__(self, fileobj):
        self.f = fileobj
        self.parts = {}

    def add_stream(self, name, chunks):
        """A part from an iterable of bytes; its one-block header is written again once the size is known."""
        if len(f"{TOP}/{name}".encode()) >= 100:
            raise ValueError(f"a streamed part needs a short name: {name}")
        start = self.f.tell()
        self.f.write(b"\0" * BLOCK)
        part = self._copy(name, chunks)
        end = self.f.tell()
        self.f.seek(start)
        self.f.write(member_info(name, part["size"]).tobuf(tarfile.GNU_FORMAT))  # one block for a short name
        self.f.seek(end)
        return part

    def add_sized(self, name, size, chunks):
        """A part whose size is known first (any name length: GNU long-name blocks)."""
        self.f.write(member_info(name, size).tobuf(tarfile.GNU_FORMAT))
        part = self._copy(name, chunks)
        if part["size"] != size:
            raise OSError(f"{name} changed while it was being added")
        return part

    def _copy(self, name, chunks):
        """The part's bytes and the padding to the next block; its sha256 and size, kept for the manifest."""
        digest, size = sha256(), 0
        for chunk in chunks:
            digest.update(chunk)
            self.f.write(chunk)
            size += len(chunk)
        self.f.write(b"\0" * (-size % BLOCK))
        self.parts[name] = {"sha256": digest.hexdigest(), "size": size}
        return self.parts[name]

    def add_bytes(self, name, data):
        return self.add_sized(name, len(data), [data])

    def add_file(self, name, path):
        with open(path, "rb") as f:
            return self.add_sized(name, os.fstat(f.fileno()).st_size, iter(lambda: f.read(CHUNK), b""))

    def close(self, manifest, readme):
        """README, MANIFEST.json (with every part's checksum), SHA256SUMS, end of archive."""
        self.add_bytes("README.txt", readme.encode())
        manifest = dict(manifest, format=FORMAT, parts=dict(sorted(self.parts.items())))
        self.add_bytes(MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
        sums = "".join(f"{p['sha256']}  {name}\n" for name, p in sorted(self.parts.items()))
        self.f.write(member_info(SUMS, len(sums)).tobuf(tarfile.GNU_FORMAT) + sums.encode())
        self.f.write(b"\0" * (-len(sums) % BLOCK))
        self.f.write(b"\0" * BLOCK * 2)
        return manifest


class Damaged(Exception):
    """The archive is not a bundle, or one of its parts does not match its checksum."""


def open_bundle(path):
    """(tarfile, {name: TarInfo}) of the parts under dlab-bundle/; Damaged when unreadable, or when it holds
    anything else: a link, a folder, a file outside dlab-bundle/, one name twice."""
    try:
        tar = tarfile.open(path, "r:")
        members, strays = {}, []
        for info in tar:
            name = info.name[len(TOP) + 1:]
            if not info.name.startswith(TOP + "/") or not info.isfile() or name in members:
                strays.append(info.name)
            else:
                members[name] = info
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise Damaged(f"cannot read it as a tar archive ({exc})") from None
    if strays and MANIFEST in members:  # without a manifest, read_manifest says it is no bundle
        raise Damaged(f"it holds {strays[0]!r}{' twice' if strays[0][len(TOP) + 1:] in members else ''}, "
                      "which no dlab bundle has")
    return tar, members


def read_member(tar, info, limit=16 << 20):
    if info.size > limit:
        raise Damaged(f"{info.name} is {info.size} bytes, too big for what it should be")
    try:
        return tar.extractfile(info).read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise Damaged(f"cannot read {info.name} ({exc})") from None


def parse_sums(text):
    sums = {}
    for line in text.splitlines():
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            raise Damaged(f"{SUMS} has a malformed line: {line[:80]!r}")
        sums[name] = digest
    return sums


def read_manifest(tar, members):
    """The manifest, once SHA256SUMS vouches for it, agrees with it on every part, and lists every file there is."""
    if MANIFEST not in members or SUMS not in members:
        raise Damaged(f"it has no {TOP}/{MANIFEST} and {SUMS} (truncated, or not a dlab bundle)")
    raw = read_member(tar, members[MANIFEST])
    sums = parse_sums(read_member(tar, members[SUMS]).decode("utf-8", "replace"))
    if sums.get(MANIFEST) != sha256(raw).hexdigest():
        raise Damaged(f"{MANIFEST} does not match its checksum in {SUMS}")
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise Damaged(f"{MANIFEST} is not valid JSON ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise Damaged(f"unknown bundle format {manifest.get('format')!r} (this dlab reads {FORMAT})")
    if not well_formed(manifest):
        raise Damaged(f"{MANIFEST} is not laid out as this dlab writes it")
    parts = manifest["parts"]
    for name, part in parts.items():
        if sums.get(name) != part.get("sha256"):
            raise Damaged(f"{MANIFEST} and {SUMS} disagree on {name}")
        if name not in members:
            raise Damaged(f"part {name} is missing")
    unlisted = sorted(set(members) - set(parts) - {MANIFEST, SUMS})
    if unlisted:
        raise Damaged(f"it holds {TOP}/{unlisted[0]}, which its {MANIFEST} does not list as a part")
    for image in manifest["images"]:
        if image["file"] not in parts:
            raise Damaged(f"its image file {image.get('file')!r} is not a listed, hashed part")
    return manifest


def well_formed(manifest) -> bool:
    """Parts {name: {sha256, size}}, images [{ref, id, file, tags: [...]}]: what the loader reads."""
    def text(*values):
        return all(isinstance(v, str) for v in values)

    parts, images = manifest.get("parts"), manifest.get("images")
    return (isinstance(parts, dict) and isinstance(images, list)
            and all(isinstance(p, dict) and text(p.get("sha256")) and isinstance(p.get("size"), int) for p in parts.values())
            and all(isinstance(i, dict) and text(i.get("ref"), i.get("id"), i.get("file"), i.get("flavor"))
                    and isinstance(i.get("tags"), list) and text(*i["tags"]) for i in images))


class Reader:
    """The bundle file, read once from start to end; every byte goes into the whole file's sha256."""

    def __init__(self, f: IO[bytes], progress=None):
        self.f, self.progress, self.digest, self.at = f, progress, sha256(), 0

    def take(self, size: int) -> Iterator[bytes]:
        """The next size bytes, in chunks."""
        while size > 0:
            block = self.f.read(min(size, CHUNK))
            if not block:
                raise Damaged(f"it ends after {self.at} bytes (cut short)")
            self.digest.update(block)
            self.at += len(block)
            size -= len(block)
            if self.progress:
                self.progress.add(len(block))
            yield block

    def skip_to(self, offset: int) -> None:
        for _ in self.take(offset - self.at):
            pass

    def finish(self) -> str:
        """Read to the end; the sha256 of the whole file."""
        for block in iter(lambda: self.f.read(CHUNK), b""):
            self.digest.update(block)
            if self.progress:
                self.progress.add(len(block))
        return self.digest.hexdigest()


def verify(path, members: dict[str, tarfile.TarInfo], manifest: dict, progress=None) -> tuple[str, dict[str, dict]]:
    """Hash every part against the manifest in one pass over the file, reading each image part's own index
    (what `docker load` would name and tag) on the way: (the whole file's sha256, {image file: its index})."""
    parts, images = manifest["parts"], {i["file"] for i in manifest["images"]}
    indexes = {}
    with open(path, "rb") as f:
        reader = Reader(f, progress)
        for name, info in sorted(members.items(), key=lambda item: item[1].offset_data):
            if name not in parts:
                continue  # MANIFEST.json and SHA256SUMS, checked by read_manifest
            if info.size != parts[name]["size"]:
                raise Damaged(f"part {name} is {info.size} bytes, the manifest says {parts[name]['size']}")
            reader.skip_to(info.offset_data)
            digest = sha256()
            chunks = (digest.update(block) or block for block in reader.take(info.size))
            problem = ""
            if name in images:
                try:
                    indexes[name] = docker_archive_index(chunks)
                except (Damaged, tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as exc:
                    problem = str(exc)
            for _ in chunks:  # what is left of the part (all of it, or an image's gzip trailer)
                pass
            if digest.hexdigest() != parts[name]["sha256"]:
                raise Damaged(f"part {name} does not match its sha256 (a changed or damaged byte)")
            if problem:
                raise Damaged(f"part {name} is not an image archive of `docker save` ({problem})")
        return reader.finish(), indexes


class ChunkFile(io.RawIOBase):
    """A read-only file over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks, self.left = chunks, memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.left:
            block = next(self.chunks, b"")
            if not block:
                return 0
            self.left = memoryview(block)
        n = min(len(buffer), len(self.left))
        buffer[:n], self.left = self.left[:n], self.left[n:]
        return n


INDEX_FILES = ("manifest.json", "repositories", "index.json")  # what `docker load` reads to name and tag images


def docker_archive_index(chunks: Iterator[bytes]) -> dict:
    """{name: parsed JSON} of the INDEX_FILES in a gzip-compressed `docker save` archive."""
    import gzip
    import posixpath

    found: dict = {}
    with gzip.GzipFile(fileobj=io.BufferedReader(ChunkFile(chunks), CHUNK)) as plain:
        with tarfile.open(fileobj=plain, mode="r|", bufsize=CHUNK) as inner:
            for info in inner:
                name = posixpath.normpath(info.name).lstrip("/")
                if name not in INDEX_FILES:
                    continue
                if name in found or not info.isfile():
                    raise Damaged(f"its {name} is {'there twice' if name in found else 'not a plain file'}")
                found[name] = json.loads(read_member(inner, info))
    if "manifest.json" not in found:
        raise Damaged("it has no manifest.json")
    return found


def member_chunks(tar: tarfile.TarFile, info: tarfile.TarInfo) -> Iterator[bytes]:
    stream = tar.extractfile(info)
    assert stream is not None, info.name
    yield from iter(lambda: stream.read(CHUNK), b"")


def open_new(path) -> tuple[str, IO[bytes]]:
    """(partial path, file) beside the target; the caller renames it into place when complete."""
    partial = f"{path}.partial"
    return partial, open(partial, "xb")
