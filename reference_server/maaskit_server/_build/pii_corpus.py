"""The synthetic PII corpus: labelled sentences in seven locales, made with ``faker`` (the
``export`` extra) from a fixed seed, with hard negatives that look like personal data and are not.

``python -m maaskit_server._build.pii_corpus OUT.jsonl.gz`` writes it; the project ships the
result as ``maaskit/privacy/corpus/pii-corpus.jsonl.gz`` (the masker's evaluation data and the
PII recogniser's training data). One JSON object a line::

    {"id": 17, "locale": "de_DE", "split": "train", "text": "...",
     "spans": [[start, end, "EMAIL"], ...], "negatives": ["DATE", "ORDER"]}

How values are made, so that a label means what it says:

* names (first + last), companies, cities, e-mail addresses, IBANs, card numbers (Luhn-valid,
  several networks), IPv4/IPv6, US SSNs, Spanish DNI/NIE, French NIR and Italian codici fiscali
  come from faker's locale providers; UK National Insurance numbers are drawn here (faker's use
  the never-issued prefix ``ZZ``);
* phone numbers are faker's digits kept only when libphonenumber says the number exists, then
  printed in that country's national, international or E.164 format (faker's own strings are
  often numbers no country issues, such as US area code 123);
* secrets have each issuer's prefix and length with random characters;
* hard negatives, never labelled: order and invoice numbers, dates, times, version strings,
  ISBN-10/13, amounts, postcodes, and ticket numbers.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

SEED = 20261201
LOCALES: tuple[str, ...] = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL")
SENTENCES_PER_LOCALE = 800
TEST_FRACTION = 0.25
_REGION = {"en_US": "US", "en_GB": "GB", "de_DE": "DE", "fr_FR": "FR", "es_ES": "ES",
           "it_IT": "IT", "nl_NL": "NL"}  # fmt: skip

# Templates: {slot} is replaced by a value; labelled slots are in _LABELLED. Each language has
# its own phrasing so the recogniser sees names in the contexts it will meet.
_TEMPLATES: dict[str, list[str]] = {
    "en": [
        "Hi {person}, your order {order} ships on {date}.",
        "Please contact {person} at {email} or {phone}.",
        "{person} from {org} asked for a refund of {amount} to card {card}.",
        "Wire the deposit to IBAN {iban} before {date}, reference {invoice}.",
        "The login from {ip} failed three times; the user was {email}.",
        "My SSN is {ssn} and my phone number is {phone}.",
        "Server {ipv6} rejected the key {secret}.",
        "{person} moved to {city} and now works for {org}.",
        "Ticket {ticket}: {person} cannot install version {version}.",
        "Call {phone} to reach the {city} office of {org}.",
        "Meeting with {person} and {person} at {time} in {city}.",
        "The book with ISBN {isbn} was sent to {person} in {city}.",
        "Use this connection string: {url_secret}",
        "Authorization: Bearer {bearer}",
        "Her national insurance number is {nid}, and her name is {person}.",
        "Invoice {invoice} of {amount} was paid by {person} on {date}.",
        "Release {version} fixes the crash reported in ticket {ticket}.",
        "Our office in {city} opens at {time}; order {order} is ready.",
        "I paid with {card} and the receipt went to {email}.",
        "{person} said the router at {ip} needs firmware {version}.",
    ],
    "de": [
        "Hallo {person}, Ihre Bestellung {order} wird am {date} versandt.",
        "Bitte kontaktieren Sie {person} unter {email} oder {phone}.",
        "{person} von {org} bittet um Erstattung von {amount} auf die Karte {card}.",
        "Überweisen Sie die Kaution bis {date} auf IBAN {iban}, Rechnung {invoice}.",
        "{person} ist nach {city} gezogen und arbeitet jetzt bei {org}.",
        "Rufen Sie {phone} an, um das Büro von {org} in {city} zu erreichen.",
        "Termin mit {person} um {time} in {city}, Version {version}.",
        "Das Buch mit der ISBN {isbn} ging an {person}.",
        "Der Zugriff von {ip} wurde blockiert, Schlüssel {secret}.",
        "Rechnung {invoice} über {amount} wurde am {date} von {person} bezahlt.",
    ],
    "fr": [
        "Bonjour {person}, votre commande {order} part le {date}.",
        "Veuillez contacter {person} à {email} ou au {phone}.",
        "{person} de {org} demande un remboursement de {amount} sur la carte {card}.",
        "Virez l'acompte sur l'IBAN {iban} avant le {date}, facture {invoice}.",
        "{person} a déménagé à {city} et travaille chez {org}.",
        "Mon numéro de sécurité sociale est {nid}, je suis {person}.",
        "Appelez le {phone} pour joindre le bureau de {org} à {city}.",
        "Rendez-vous avec {person} à {time} à {city}, version {version}.",
        "Le livre ISBN {isbn} a été envoyé à {person}.",
        "La connexion depuis {ip} a échoué pour {email}.",
    ],
    "es": [
        "Hola {person}, su pedido {order} sale el {date}.",
        "Contacte con {person} en {email} o al {phone}.",
        "{person} de {org} pide un reembolso de {amount} a la tarjeta {card}.",
        "Transfiera la fianza al IBAN {iban} antes del {date}, factura {invoice}.",
        "{person} se mudó a {city} y ahora trabaja en {org}.",
        "Mi DNI es {nid} y me llamo {person}.",
        "Llame al {phone} para hablar con la oficina de {org} en {city}.",
        "Reunión con {person} a las {time} en {city}, versión {version}.",
        "El libro con ISBN {isbn} se envió a {person}.",
        "El acceso desde {ip} fue bloqueado para {email}.",
    ],
    "it": [
        "Ciao {person}, il tuo ordine {order} parte il {date}.",
        "Contatta {person} all'indirizzo {email} o al {phone}.",
        "{person} di {org} chiede un rimborso di {amount} sulla carta {card}.",
        "Versa il deposito sull'IBAN {iban} entro il {date}, fattura {invoice}.",
        "{person} si è trasferito a {city} e ora lavora per {org}.",
        "Il mio codice fiscale è {nid}, sono {person}.",
        "Chiama il {phone} per l'ufficio di {org} a {city}.",
        "Appuntamento con {person} alle {time} a {city}, versione {version}.",
        "Il libro con ISBN {isbn} è stato spedito a {person}.",
        "L'accesso da {ip} è stato bloccato per {email}.",
    ],
    "nl": [
        "Hallo {person}, je bestelling {order} wordt op {date} verzonden.",
        "Neem contact op met {person} via {email} of {phone}.",
        "{person} van {org} vraagt een terugbetaling van {amount} op kaart {card}.",
        "Maak de borg over naar IBAN {iban} voor {date}, factuur {invoice}.",
        "{person} is naar {city} verhuisd en werkt nu bij {org}.",
        "Bel {phone} voor het kantoor van {org} in {city}.",
        "Afspraak met {person} om {time} in {city}, versie {version}.",
        "Het boek met ISBN {isbn} is naar {person} gestuurd.",
        "De toegang vanaf {ip} is geblokkeerd voor {email}.",
        "Factuur {invoice} van {amount} is op {date} door {person} betaald.",
    ],
}
# Sentences with no personal data at all, only look-alikes (the precision test's hard cases).
_NEGATIVE_TEMPLATES: list[str] = [
    "Order {order} was placed on {date} and costs {amount}.",
    "Upgrade to version {version} before {date}.",
    "ISBN {isbn} is out of print; see ticket {ticket}.",
    "Invoice {invoice} is due on {date} at {time}.",
    "Build {version} passed; ticket {ticket} is closed.",
    "Reference {order}, postcode {postcode}, delivery {date}.",
    "The firmware {version} was released on {date}.",
    "Order {order} and order {order} were merged into invoice {invoice}.",
]
_LABELLED = {
    "person": "PERSON", "email": "EMAIL", "phone": "PHONE", "card": "CARD", "iban": "IBAN",
    "ip": "IP_ADDRESS", "ipv6": "IP_ADDRESS", "ssn": "SSN", "nid": "NATIONAL_ID",
    "secret": "SECRET", "url_secret": "SECRET", "bearer": "SECRET", "org": "ORG",
    "city": "LOCATION",
}  # fmt: skip


class _Values:
    """Value makers for one locale, all drawn from one seeded faker and one seeded RNG."""

    def __init__(self, locale: str, rng: random.Random) -> None:
        from faker import Faker

        self.locale = locale
        self.rng = rng
        self.fake = Faker(locale)
        self.fake.seed_instance(rng.randrange(2**32))
        self.region = _REGION[locale]

    # --- labelled values ---------------------------------------------------------------------
    def person(self) -> str:
        return f"{self.fake.first_name()} {self.fake.last_name()}"

    def email(self) -> str:
        return str(self.fake.email())

    def org(self) -> str:
        return str(self.fake.company())

    def city(self) -> str:
        return str(self.fake.city())

    def iban(self) -> str:
        compact = str(self.fake.iban())
        if self.rng.random() < 0.5:
            return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
        return compact

    def card(self) -> str:
        # Not faker's "maestro": some of its prefixes (0604) belong to no card network.
        network = self.rng.choice(
            ["visa16", "visa16", "visa19", "mastercard", "mastercard", "amex", "discover",
             "jcb15", "jcb16", "diners"]
        )  # fmt: skip
        digits = str(self.fake.credit_card_number(card_type=network))
        if self.rng.random() < 0.4 and len(digits) == 16:
            sep = self.rng.choice([" ", "-"])
            return sep.join(digits[i : i + 4] for i in range(0, 16, 4))
        return digits

    def ip(self) -> str:
        return str(self.fake.ipv4())

    def ipv6(self) -> str:
        address = str(self.fake.ipv6())
        if self.rng.random() < 0.3:  # the compressed forms people actually paste
            import ipaddress

            address = ipaddress.IPv6Address(
                f"2001:db8::{self.rng.randrange(1, 0xFFFF):x}"
            ).compressed
        return address

    def ssn(self) -> str:
        return str(Faker_en_us(self.rng).ssn())

    def nid(self) -> str:
        if self.locale == "es_ES":
            return str(self.fake.nif() if self.rng.random() < 0.7 else self.fake.nie())
        if self.locale == "fr_FR":
            return str(self.fake.ssn())
        if self.locale == "it_IT":
            return str(self.fake.ssn())
        return _nino(self.rng)

    def phone(self) -> str:
        import phonenumbers

        formats = [
            phonenumbers.PhoneNumberFormat.NATIONAL,
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.E164,
        ]
        weights = [0.5, 0.4, 0.1]
        while True:
            raw = str(self.fake.phone_number())
            try:
                number = phonenumbers.parse(raw, self.region)
            except phonenumbers.NumberParseException:
                continue
            if number.extension or not phonenumbers.is_valid_number(number):
                continue
            fmt = self.rng.choices(formats, weights)[0]
            return str(phonenumbers.format_number(number, fmt))

    def secret(self) -> str:
        alnum = string.ascii_letters + string.digits
        pick = self.rng.randrange(7)
        if pick == 0:
            return "sk-proj-" + _random(self.rng, alnum + "_-", 48)
        if pick == 1:
            return "AKIA" + _random(self.rng, string.ascii_uppercase + string.digits, 16)
        if pick == 2:
            return "ghp_" + _random(self.rng, alnum, 36)
        if pick == 3:
            return "xoxb-" + "-".join(_random(self.rng, string.digits, 12) for _ in range(2))
        if pick == 4:
            return "sk_live_" + _random(self.rng, alnum, 24)
        if pick == 5:
            return "AIza" + _random(self.rng, alnum + "_-", 35)
        return "hf_" + _random(self.rng, string.ascii_letters, 34)

    def url_secret(self) -> str:
        # Labelled span: the user-info (see SecretDetector); the rest of the URL is context.
        return (
            f"{self.fake.user_name()}:{_random(self.rng, string.ascii_letters + string.digits, 12)}"
        )

    def bearer(self) -> str:
        return _random(self.rng, string.ascii_letters + string.digits + "-._", 40)

    # --- hard negatives ----------------------------------------------------------------------
    def order(self) -> str:
        pick = self.rng.randrange(4)
        if pick == 0:
            return f"#{self.rng.randrange(10**5, 10**9)}"
        if pick == 1:
            return f"ORD-{self.rng.randrange(2019, 2027)}-{self.rng.randrange(10**5, 10**6)}"
        if pick == 2:
            return f"{self.rng.randrange(10**6, 10**8)}"
        return f"A{self.rng.randrange(10**7, 10**8)}"

    def invoice(self) -> str:
        return f"INV-{self.rng.randrange(10**4, 10**6)}/{self.rng.randrange(2019, 2027)}"

    def ticket(self) -> str:
        return f"{self.rng.choice(['JIRA', 'OPS', 'SUP'])}-{self.rng.randrange(10, 99999)}"

    def date(self) -> str:
        day = self.fake.date_object()
        return str(self.rng.choice(
            [day.isoformat(), day.strftime("%d.%m.%Y"), day.strftime("%d/%m/%Y"),
             day.strftime("%m/%d/%Y"), day.strftime("%B %d, %Y")]
        ))  # fmt: skip

    def time(self) -> str:
        return f"{self.rng.randrange(24):02d}:{self.rng.randrange(60):02d}"

    def version(self) -> str:
        parts = [str(self.rng.randrange(0, 20)) for _ in range(self.rng.choice([2, 3, 3, 4]))]
        return self.rng.choice(["", "v"]) + ".".join(parts)

    def isbn(self) -> str:
        return str(self.fake.isbn13() if self.rng.random() < 0.6 else self.fake.isbn10())

    def amount(self) -> str:
        return f"{self.rng.randrange(1, 5000)}.{self.rng.randrange(100):02d} EUR"

    def postcode(self) -> str:
        return str(self.fake.postcode())


_NEGATIVE_SLOTS = {"order", "invoice", "ticket", "date", "time", "version", "isbn", "amount",
                   "postcode"}  # fmt: skip


def Faker_en_us(rng: random.Random) -> Any:  # noqa: N802 - reads like the class it returns
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(rng.randrange(2**32))
    return fake


def _random(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _nino(rng: random.Random) -> str:
    first = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    while first + second in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
        second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    digits = "".join(rng.choice(string.digits) for _ in range(6))
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{first}{second} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"
    return f"{first}{second}{digits}{suffix}"


def _fill(template: str, values: _Values) -> dict[str, Any]:
    text_parts: list[str] = []
    spans: list[list[Any]] = []
    negatives: list[str] = []
    length = 0
    rest = template
    while rest:
        open_at = rest.find("{")
        if open_at == -1:
            text_parts.append(rest)
            break
        close_at = rest.index("}", open_at)
        text_parts.append(rest[:open_at])
        length += open_at
        slot = rest[open_at + 1 : close_at]
        maker: Callable[[], str] = getattr(values, slot)
        value = maker()
        if slot in _LABELLED:
            spans.append([length, length + len(value), _LABELLED[slot]])
        elif slot in _NEGATIVE_SLOTS:
            negatives.append(slot.upper())
        text_parts.append(value)
        length += len(value)
        rest = rest[close_at + 1 :]
    if template.startswith("Use this connection string"):
        # Put the user-info inside a URL: scheme://user:password@host/db
        user_info = text_parts[1]
        host = values.fake.domain_name()
        text_parts[1] = f"postgres://{user_info}@{host}:5432/app"
        spans[0] = [spans[0][0] + len("postgres://"), spans[0][1] + len("postgres://"), "SECRET"]
    return {"text": "".join(text_parts), "spans": spans, "negatives": sorted(set(negatives))}


def generate(seed: int = SEED, per_locale: int = SENTENCES_PER_LOCALE) -> list[dict[str, Any]]:
    """The corpus, deterministic for a seed and the installed faker/phonenumbers versions."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for locale in LOCALES:
        values = _Values(locale, rng)
        templates = _TEMPLATES[locale[:2]]
        for _ in range(per_locale):
            if rng.random() < 0.15:
                row = _fill(rng.choice(_NEGATIVE_TEMPLATES), values)
            else:
                row = _fill(rng.choice(templates), values)
            row["locale"] = locale
            rows.append(row)
    rng.shuffle(rows)
    for index, row in enumerate(rows):
        row["id"] = index
        row["split"] = "test" if rng.random() < TEST_FRACTION else "train"
    return rows


def write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = ("id", "locale", "split", "text", "spans", "negatives")
    lines = [json.dumps({key: row[key] for key in keys}, ensure_ascii=False) for row in rows]
    # mtime=0: the same corpus gives the same bytes, so a rebuild shows no spurious diff.
    with gzip.GzipFile(path, "wb", compresslevel=9, mtime=0) as handle:
        handle.write(("\n".join(lines) + "\n").encode())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m maaskit_server._build.pii_corpus")
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--per-locale", type=int, default=SENTENCES_PER_LOCALE)
    args = parser.parse_args(argv)
    rows = generate(args.seed, args.per_locale)
    write(args.out, rows)
    print(f"wrote {len(rows)} sentences to {args.out}")


if __name__ == "__main__":
    main()
