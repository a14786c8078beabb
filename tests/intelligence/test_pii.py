"""Personal data in appeal text: detected by kind, masked, and ordinary numbers left alone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sudi.intelligence.pii import find_personal_data, mask_text, passes_luhn, personal_data_kinds


def _with_luhn(body: str) -> str:
    for check in "0123456789":
        if passes_luhn(body + check):
            return body + check
    raise AssertionError("unreachable")


CARD = _with_luhn("622202020000123456")  # 19 digits, UnionPay-style
ID_NUMBER = "11010519491231002X"


def test_each_kind_is_found_and_masked() -> None:
    text = (f"电话13812345678，身份证{ID_NUMBER}，银行卡{CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:16]} "
            f"{CARD[16:]}被扣款，车牌鲁D·12345和新能源鲁DD12345停在路边，座机0632-7712345。")
    assert personal_data_kinds(text) == ["bank_card", "id_number", "licence_plate", "phone"]
    masked = mask_text(text)
    for secret in ("13812345678", ID_NUMBER, CARD[4:8] + " " + CARD[8:12], "12345", "7712345"):
        assert secret not in masked
    assert "138****5678" in masked and "110105********002X" in masked
    assert f"{CARD[:4]} **** **** {CARD[-4:]}" in masked
    assert "鲁D" in masked  # where the car is registered stays readable


def test_ordinary_numbers_are_not_personal_data() -> None:
    text = ("订单号12345678901234567890，金额 2020 元，面积 1234567 平方米，身份证号110105194912310021（校验位不对），"
            "文号鲁政发〔2020〕12号，型号 ABC12345，电话号码不完整 1381234")
    assert find_personal_data(text) == []
    assert mask_text(text) == text


def test_a_card_number_must_pass_luhn() -> None:
    wrong = CARD[:-1] + str((int(CARD[-1]) + 1) % 10)
    assert personal_data_kinds(f"卡号{CARD}") == ["bank_card"]
    assert personal_data_kinds(f"卡号{wrong}") == []


@given(st.text(alphabet="0123456789", min_size=15, max_size=18))
def test_every_luhn_valid_card_length_is_masked(body: str) -> None:
    card = _with_luhn(body)
    if len(set(card)) == 1:
        return
    masked = mask_text(f"我的银行卡是{card}。")
    assert card not in masked and masked.endswith(card[-4:] + "。")


@given(st.text(max_size=200))
def test_masking_never_fails_and_keeps_text_without_data(text: str) -> None:
    masked = mask_text(text)
    if not find_personal_data(text):
        assert masked == text
