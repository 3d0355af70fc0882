"""Check digits and number rules: what makes a match a real card, IBAN or ID, not just digits."""

from __future__ import annotations

__all__ = [
    "IBAN_LENGTHS",
    "card_prefix_ok",
    "codice_fiscale_ok",
    "dni_ok",
    "iban_ok",
    "luhn_ok",
    "nino_ok",
    "nir_ok",
    "ssn_ok",
]

# ISO 13616 registry (SWIFT IBAN registry release 99): country -> IBAN length.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def luhn_ok(digits: str) -> bool:
    """The Luhn mod-10 check every payment card number carries."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_prefix_ok(digits: str) -> bool:
    """Issuer ranges of the networks in wide use, with the lengths each issues. Luhn alone
    passes one random number in ten; the range cuts order numbers and ISBNs out."""
    n = len(digits)
    two, four, six = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= two <= 55 or 222100 <= six <= 272099:  # Mastercard
        return n == 16
    if two in (34, 37):  # American Express
        return n == 15
    if four == 6011 or two == 65 or 644 <= int(digits[:3]) <= 649 or 622126 <= six <= 622925:
        return 16 <= n <= 19  # Discover
    if two == 35:  # JCB (3528-3589 today; the rest of 35 in older ranges)
        return 16 <= n <= 19
    if four in (2131, 1800):  # JCB's 15-digit numbers
        return n == 15
    if two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:  # Diners Club
        return 14 <= n <= 19
    if two == 62:  # UnionPay
        return 16 <= n <= 19
    return two in (50, 56, 57, 58) or (60 <= two <= 69 and n >= 12)  # Maestro


def iban_ok(compact: str) -> bool:
    """ISO 7064 mod-97-10 on an IBAN without spaces, with the country's registered length."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(char, 36)) for char in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """The US Social Security Administration never issues area 000, 666 or 900-999, group 00
    or serial 0000."""
    return (
        area not in ("000", "666")
        and not area.startswith("9")
        and group != "00"
        and serial != "0000"
    )


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_ok(compact: str) -> bool:
    """Spain's DNI (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter): the letter is the
    number mod 23."""
    head, letter = compact[:-1], compact[-1]
    if head[0] in "XYZ":
        head = str("XYZ".index(head[0])) + head[1:]
    return head.isdigit() and _DNI_LETTERS[int(head) % 23] == letter


_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})


def nino_ok(compact: str) -> bool:
    """UK National Insurance number: two letters (D, F, I, Q, U, V never; O never second; some
    pairs never issued), six digits, suffix A-D."""
    first, second = compact[0], compact[1]
    return (
        first not in "DFIQUV"
        and second not in "DFIQUVO"
        and compact[:2] not in _NINO_BAD_PREFIXES
        and compact[2:8].isdigit()
        and compact[8] in "ABCD"
    )


def nir_ok(compact: str) -> bool:
    """France's NIR (numéro de sécurité sociale): 13 characters and a key, 97 - (n mod 97);
    Corsica's departments 2A and 2B count as 19 and 18 for the key."""
    body, key = compact[:13], compact[13:]
    body = body.replace("2A", "19", 1) if body[5:7] == "2A" else body
    body = body.replace("2B", "18", 1) if body[5:7] == "2B" else body
    if not (body.isdigit() and key.isdigit()):
        return False
    return 97 - int(body) % 97 == int(key)


_CF_ODD = [
    1,
    0,
    5,
    7,
    9,
    13,
    15,
    17,
    19,
    21,
    2,
    4,
    18,
    20,
    11,
    3,
    6,
    8,
    12,
    14,
    16,
    10,
    22,
    25,
    24,
    23,
]


def codice_fiscale_ok(code: str) -> bool:
    """Italy's codice fiscale: 15 characters and a check letter from odd/even position tables."""
    total = 0
    for position, char in enumerate(code[:15]):
        index = int(char) if char.isdigit() else ord(char) - 65
        total += _CF_ODD[index] if position % 2 == 0 else index
    return chr(65 + total % 26) == code[15]
