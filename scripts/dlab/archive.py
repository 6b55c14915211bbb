"""The bundle file: a plain tar of parts under dlab-bundle/, a manifest and SHA256SUMS at its end.

Parts are streamed in (an image goes from `docker save` through gzip straight into the tar), so the
writer needs a seekable file: each member's header is written again once its size is known.
"""

from __future__ import annotations

import json
import os
import tarfile
import time
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
    """(tarfile, {name: TarInfo}) for the members under dlab-bundle/; Damaged when unreadable."""
    try:
        tar = tarfile.open(path, "r:")
        members = {}
        for info in tar:
            if info.name.startswith(TOP + "/") and info.isfile():
                members[info.name[len(TOP) + 1:]] = info
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise Damaged(f"cannot read it as a tar archive ({exc})") from None
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
    """The manifest, once SHA256SUMS vouches for it and it agrees with SHA256SUMS on every part."""
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
    parts = manifest.get("parts") or {}
    for name, part in parts.items():
        if sums.get(name) != part.get("sha256"):
            raise Damaged(f"{MANIFEST} and {SUMS} disagree on {name}")
    return manifest


def verify_parts(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], manifest: dict, progress=None) -> None:
    """Hash every part against the manifest; Damaged at the first mismatch."""
    for name, want in sorted(manifest["parts"].items()):
        info = members.get(name)
        if info is None:
            raise Damaged(f"part {name} is missing")
        if info.size != want["size"]:
            raise Damaged(f"part {name} is {info.size} bytes, the manifest says {want['size']}")
        digest = sha256()
        try:
            for block in member_chunks(tar, info):
                digest.update(block)
                if progress:
                    progress.add(len(block))
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise Damaged(f"cannot read part {name} ({exc})") from None
        if digest.hexdigest() != want["sha256"]:
            raise Damaged(f"part {name} does not match its sha256 (a changed or damaged byte)")


def member_chunks(tar: tarfile.TarFile, info: tarfile.TarInfo) -> Iterator[bytes]:
    stream = tar.extractfile(info)
    assert stream is not None, info.name
    yield from iter(lambda: stream.read(CHUNK), b"")


def open_new(path) -> tuple[str, IO[bytes]]:
    """(partial path, file) beside the target; the caller renames it into place when complete."""
    partial = f"{path}.partial"
    return partial, open(partial, "xb")
