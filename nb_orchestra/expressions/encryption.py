"""``encrypt(key, plaintext)`` and ``decrypt(key, encrypted)``: Kestra's EncryptionService, so a value
encrypted here decrypts on Kestra with the same key and the other way round.

AES-GCM with a 128-bit tag; the key is base64 (16, 24 or 32 bytes once decoded); the result is the
base64 of a random 12-byte IV followed by the ciphertext and its tag. An empty or null text is
returned as it is. The ``cryptography`` package does the AES; it is imported on first use.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from nb_orchestra.errors import TemplateError

IV_LENGTH = 12


def encrypt(key: Any, plaintext: Any) -> Any:
    """``encrypt(key, plaintext)``: base64 of IV + AES-GCM ciphertext and tag."""
    if plaintext is None or plaintext == "":
        return plaintext
    cipher = _cipher("encrypt", key)
    iv = os.urandom(IV_LENGTH)
    sealed = cipher.encrypt(iv, _text("encrypt", "plaintext", plaintext).encode("utf-8"), None)
    return base64.b64encode(iv + sealed).decode("ascii")


@pass_context
def decrypt(context: Context, key: Any, encrypted: Any) -> Any:
    """``decrypt(key, encrypted)``: the text :func:`encrypt` (or Kestra) encrypted with ``key``; in a
    running flow it is masked in logs, outputs and the store, as a ``secret()`` is."""
    if encrypted is None or encrypted == "":
        return encrypted
    cipher = _cipher("decrypt", key)
    data = _base64("decrypt", "encrypted", _text("decrypt", "encrypted", encrypted))
    from cryptography.exceptions import InvalidTag

    try:
        plaintext = cipher.decrypt(data[:IV_LENGTH], data[IV_LENGTH:], None).decode("utf-8")
    except (InvalidTag, ValueError):  # a wrong key, a changed or cut value
        raise TemplateError("decrypt(): Tag mismatch: the value was not encrypted with this key, "
                            "or was changed") from None
    runtime = context.get("_runtime")
    if runtime is not None:
        runtime.hide(plaintext)
    return plaintext


def _cipher(function: str, key: Any) -> Any:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        raise TemplateError(f"{function}() needs the cryptography package: pip install cryptography") from None
    key_bytes = _base64(function, "key", _text(function, "key", key))
    if len(key_bytes) not in (16, 24, 32):
        # no key text in the message: it is a secret
        raise TemplateError(f"{function}(): Invalid AES key length: {len(key_bytes)} bytes "
                            "(the base64 of 16, 24 or 32 bytes)")
    return AESGCM(key_bytes)


def _text(function: str, name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TemplateError(f"{function}(): '{name}' must be a string")
    return value


def _base64(function: str, name: str, text: str) -> bytes:
    if len(text) % 4 and "=" not in text:
        text += "=" * (-len(text) % 4)  # Java's decoder does not require the padding
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise TemplateError(f"{function}(): '{name}' is not base64") from None
