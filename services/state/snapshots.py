"""Vector index snapshots in files: the parts of ``VectorIndex.state`` in one file.

Used when ``index_snapshot_dir`` is set (services/state/vector_log.py): Redis then holds only
the file's path, and a snapshot of a large index costs no Redis memory.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from pathlib import Path

SNAPSHOT_MAGIC = b"FWSNAP1\n"


def write_snapshot_file(path: Path, parts: Mapping[str, bytes]) -> None:
    """``parts`` (``VectorIndex.state``) as one file: magic, then per part its name's length
    (uint16), its length (uint64), name, bytes. Written aside, fsynced, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        fh.write(SNAPSHOT_MAGIC)
        for field, value in parts.items():
            name = field.encode()
            fh.write(struct.pack("<HQ", len(name), len(value)) + name)
            fh.write(value)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_snapshot_file(path: Path) -> dict[str, bytes]:
    data = memoryview(path.read_bytes())
    if bytes(data[: len(SNAPSHOT_MAGIC)]) != SNAPSHOT_MAGIC:
        raise ValueError(f"{path} is not a vector index snapshot")
    parts: dict[str, bytes] = {}
    at = len(SNAPSHOT_MAGIC)
    while at < len(data):
        n_name, n_value = struct.unpack_from("<HQ", data, at)
        at += 10
        name = bytes(data[at : at + n_name]).decode()
        at += n_name
        parts[name] = bytes(data[at : at + n_value])
        at += n_value
        if at > len(data):
            raise ValueError(f"{path} is truncated")
    return parts
