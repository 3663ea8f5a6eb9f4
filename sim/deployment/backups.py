"""Copies of the live index: the disaster-recovery replica and encrypted backup generations.

The replica is made by the store's backend (sim.index.store.backends.replicate_index; SQLite's
online backup API), so it is a consistent copy even of an open WAL database. Backups are
encrypted from their first byte (AES-256-GCM, NIST SP 800-38D): the index is read in chunks
and each chunk is sealed with its own nonce, its position and a last-chunk flag as associated
data, so chunks cannot be reordered, dropped or truncated unnoticed. No plaintext copy is ever
written, so destroying the key destroys the backup (crypto-erase, NIST SP 800-88 Rev. 1 s2.6).
"""

import os
import struct
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sim.errors import InputError

MAGIC = b"CPWBAK1\n"
CHUNK = 16 * 1024 * 1024
_HEADER = struct.Struct(">12sI")  # nonce, ciphertext length


def _associated(number: int, last: bool) -> bytes:
    return struct.pack(">Q?", number, last)


def encrypt_file(source: Path, target: Path, key: bytes) -> int:
    """Seal `source` into `target` chunk by chunk; returns the plaintext bytes read."""
    aead = AESGCM(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    size = source.stat().st_size
    read = 0
    with source.open("rb") as src, target.open("xb") as dst:
        dst.write(MAGIC)
        number = 0
        while True:
            chunk = src.read(CHUNK)
            read += len(chunk)
            last = read >= size
            nonce = os.urandom(12)
            sealed = aead.encrypt(nonce, chunk, _associated(number, last))
            dst.write(_HEADER.pack(nonce, len(sealed)) + sealed)
            number += 1
            if last:
                return read


def encrypt_stream(source: BinaryIO, target: Path, key: bytes) -> int:
    """Seal a stream (a server's backup piped to us) into `target`, in the format of
    `encrypt_file`: one chunk is read ahead to know which one is last, so no plaintext is ever
    written to disk. Returns the plaintext bytes read."""
    aead = AESGCM(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    read, number = 0, 0
    with target.open("xb") as dst:
        dst.write(MAGIC)
        chunk = _read_full(source, CHUNK)
        while True:
            following = _read_full(source, CHUNK) if len(chunk) == CHUNK else b""
            last = not following
            read += len(chunk)
            nonce = os.urandom(12)
            sealed = aead.encrypt(nonce, chunk, _associated(number, last))
            dst.write(_HEADER.pack(nonce, len(sealed)) + sealed)
            number += 1
            if last:
                return read
            chunk = following


def _read_full(source: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes: a pipe returns short reads before its end."""
    parts, wanted = [], size
    while wanted:
        part = source.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def decrypt_file(source: Path, target: Path, key: bytes) -> int:
    """Open a sealed backup into `target`; any tampering or truncation raises InputError."""
    aead = AESGCM(key)
    written = 0
    with source.open("rb") as src, target.open("xb") as dst:
        if src.read(len(MAGIC)) != MAGIC:
            raise InputError(f"{source}: not a workbench backup")
        number, last = 0, False
        while not last:
            header = src.read(_HEADER.size)
            if len(header) != _HEADER.size:
                raise InputError(f"{source}: backup truncated at chunk {number}")
            nonce, length = _HEADER.unpack(header)
            sealed = src.read(length)
            for flag in (False, True):
                try:
                    plain = aead.decrypt(nonce, sealed, _associated(number, flag))
                except InvalidTag:
                    continue
                last = flag
                break
            else:
                raise InputError(f"{source}: chunk {number} fails authentication (wrong key?)")
            dst.write(plain)
            written += len(plain)
            number += 1
        if src.read(1):
            raise InputError(f"{source}: data after the last chunk")
    return written
