"""Personal data in free text: find it and mask it.

Appeal texts often carry the caller's phone, ID or bank card number, or a vehicle's licence
plate. Intake records which kinds an appeal holds (``find_personal_data``); views for roles that
do not need them show a masked copy (``mask_text``); the stored text is never altered.

Each detector prefers a miss to a false alarm on ordinary numbers: an ID number must pass its
GB 11643 check character, a bank card the Luhn check (every Chinese bank card, UnionPay or not,
carries one), a plate the GA 36 shape (province character, issuing-office letter, five or six
characters without I and O).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?(\d{7,8})(?!\d)")
_ID18 = re.compile(r"(?<![\dA-Za-z])(\d{17}[\dXx])(?![\dA-Za-z])")
# 16 to 19 digits, written solid or in groups of four (the last one shorter) separated by a space or a hyphen.
_BANK_CARD = re.compile(r"(?<![\d-])(\d{4}(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?)(?![\d-])")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
# Ordinary plates: five characters after the office letter; new-energy plates: six (D/F first or last).
_PLATE = re.compile(rf"(?<![A-Za-z0-9])([{_PROVINCES}])([A-HJ-NP-Z])[·•・. ]?"
                    r"([A-HJ-NP-Z0-9]{4}[A-HJ-NP-Z0-9挂学警港澳][A-HJ-NP-Z0-9]?)(?![A-Za-z0-9])")


PERSONAL_DATA_LABELS = {"phone": "电话号码", "id_number": "身份证号", "bank_card": "银行卡号",
                        "licence_plate": "车牌号"}


@dataclass(frozen=True, slots=True)
class PersonalDatum:
    kind: str  # phone, id_number, bank_card, licence_plate
    start: int
    end: int


def is_valid_id_number(candidate: str) -> bool:
    """Resident ID (GB 11643): 17 digits and an ISO 7064 MOD 11-2 check character."""
    if len(candidate) != 18 or not candidate[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(candidate[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == candidate[17].upper()


def passes_luhn(digits: str) -> bool:
    """The ISO/IEC 7812 check digit that every payment card number ends with."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_digits(candidate: str) -> str | None:
    digits = candidate.replace(" ", "").replace("-", "")
    if not 16 <= len(digits) <= 19 or len(set(digits)) == 1 or not passes_luhn(digits):
        return None
    return digits


def _is_plate(match: re.Match[str]) -> bool:
    tail = match.group(3)
    # A plate has at most two letters among its serial characters (GA 36): this keeps words in
    # pinyin or English, which the character class would otherwise admit, from looking like one.
    return sum(c.isalpha() and c.isascii() for c in tail) <= 3 and any(c.isdigit() for c in tail)


def find_personal_data(text: str) -> list[PersonalDatum]:
    """Every piece of personal data found in ``text``, in order, without overlaps."""
    found: list[PersonalDatum] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int) -> None:
        if all(end <= s or start >= e for s, e in taken):
            taken.append((start, end))
            found.append(PersonalDatum(kind, start, end))

    for m in _ID18.finditer(text):
        if is_valid_id_number(m.group(1)):
            add("id_number", m.start(1), m.end(1))
    for m in _BANK_CARD.finditer(text):
        if _card_digits(m.group(1)):
            add("bank_card", m.start(1), m.end(1))
    for m in _MOBILE.finditer(text):
        add("phone", m.start(), m.end())
    for m in _LANDLINE.finditer(text):
        add("phone", m.start(), m.end())
    for m in _PLATE.finditer(text):
        if _is_plate(m):
            add("licence_plate", m.start(), m.end())
    return sorted(found, key=lambda d: d.start)


def personal_data_kinds(text: str) -> list[str]:
    """The kinds of personal data in ``text``, each once (what intake records on the appeal)."""
    return sorted({d.kind for d in find_personal_data(text)})


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def _mask_datum(kind: str, value: str) -> str:
    if kind == "id_number":
        return value[:6] + "********" + value[-4:]
    if kind == "bank_card":
        digits = value.replace(" ", "").replace("-", "")
        return digits[:4] + " **** **** " + digits[-4:]
    if kind == "licence_plate":
        # Province and office stay (they say where the car is registered); the serial goes.
        return value[:2] + "*" * (len(value) - 3) + value[-1]
    mobile = _MOBILE.fullmatch(value)
    if mobile:
        return f"{mobile.group(1)}****{mobile.group(3)}"
    landline = _LANDLINE.fullmatch(value)
    if landline:
        return f"{landline.group(1)}-****{landline.group(2)[-3:]}"
    return "*" * len(value)


def mask_text(text: str) -> str:
    if not text:
        return text
    data = find_personal_data(text)
    if not data:
        return text
    parts: list[str] = []
    cursor = 0
    for datum in data:
        parts.append(text[cursor:datum.start])
        parts.append(_mask_datum(datum.kind, text[datum.start:datum.end]))
        cursor = datum.end
    parts.append(text[cursor:])
    return "".join(parts)
