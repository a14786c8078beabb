"""Secrets: password hashing, bearer tokens, query codes.

Stdlib only. Passwords use scrypt (memory-hard, in hashlib); tokens and query codes are random and
stored only as SHA-256 digests, so a leaked database does not leak a usable credential.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_QUERY_CODE_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "0O1IL")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    encoded = (base64.b64encode(salt).decode(), base64.b64encode(digest).decode())
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${encoded[0]}${encoded[1]}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), n=int(n), r=int(r),
                            p=int(p), dklen=32)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def password_weakness(password: str, username: str = "") -> str | None:
    """Why a production admin password is too weak, or None. Chinese text: it is shown to people."""
    if len(password) < 12:
        return "密码至少 12 位 / at least 12 characters"
    classes = sum(any(c in group for c in password) for group in (
        string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation))
    if classes < 3:
        return "密码须含大写、小写、数字、符号中的至少三类 / use at least three of: upper, lower, digit, symbol"
    if username and username.lower() in password.lower():
        return "密码不能包含用户名 / must not contain the user name"
    if password.lower() in {"sudi-demo", "password1234", "admin1234567"}:
        return "密码过于常见 / too common"
    return None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()



def derived_code(secret: str, subject: str) -> str:
    """A query code derived from the server secret, so a repeated submission (same idempotency
    key) can show the citizen the same code without the code ever being stored."""
    mac = hmac.new(secret.encode(), subject.encode(), hashlib.sha256).digest()
    return "".join(_QUERY_CODE_ALPHABET[b % len(_QUERY_CODE_ALPHABET)] for b in mac[:8])
