"""Personal data in free text: find it and mask it.

Appeal texts often carry the caller's phone or ID number. Views for roles that do not need them
show a masked copy; the stored text is never altered.
"""

from __future__ import annotations

import re

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?(\d{7,8})(?!\d)")
_ID18 = re.compile(r"(?<![\dA-Za-z])(\d{17}[\dXx])(?![\dA-Za-z])")


def is_valid_id_number(candidate: str) -> bool:
    """Resident ID (GB 11643): 17 digits and an ISO 7064 MOD 11-2 check character."""
    if len(candidate) != 18 or not candidate[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(candidate[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == candidate[17].upper()


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_text(text: str) -> str:
    def _id(match: re.Match[str]) -> str:
        value = match.group(1)
        return value[:6] + "********" + value[-4:] if is_valid_id_number(value) else value

    text = _ID18.sub(_id, text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)[-3:]}", text)
