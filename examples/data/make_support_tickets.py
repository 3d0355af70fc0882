"""Writes ``support_tickets.csv``: a small labelled set of support-ticket texts for
``maaskit train classification``, made by this script from templates with a fixed seed.

    python3 examples/data/make_support_tickets.py   # rewrites support_tickets.csv, same bytes

Four labels (``account``, ``billing``, ``shipping``, ``technical``), 100 tickets each, a
quarter of them borrowing another label's words. Some rows are on purpose what real exports
contain: the same ticket again with other case and spacing, texts filed under two labels (so
the preprocessing report has something to show) and 4% of tickets under a wrong label. The
texts are invented; there is no personal data in them.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SEED = 20261201
PER_LABEL = 100
OUT = Path(__file__).with_name("support_tickets.csv")

OPENERS = ("", "Hi, ", "Hello, ", "Hey team, ", "Good morning, ", "Urgent: ", "Quick question: ")
CLOSERS = ("", " Thanks.", " Thank you!", " Please help.", " Any update?", " Cheers.")

TEMPLATES: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]]]] = {
    "billing": (
        (
            "I was charged {twice} for my {plan} plan this month.",
            "My invoice shows {amount} but I expected less.",
            "Can I get a refund for the {plan} subscription I cancelled?",
            "The payment with my {card} failed and now the plan is on hold.",
            "Why did the price of the {plan} plan go up to {amount}?",
            "Please send me a VAT invoice for order {order}.",
            "I need to change the {card} you bill every month.",
            "There is a charge of {amount} on my statement I do not recognise.",
        ),
        {
            "twice": ("twice", "two times", "double", "three times"),
            "plan": ("Pro", "Team", "Basic", "annual", "monthly", "Enterprise"),
            "amount": ("$12.99", "$49", "€30", "£15.50", "$120", "$7.99"),
            "card": ("credit card", "Visa card", "debit card", "PayPal account"),
            "order": ("#48213", "#10077", "#99120", "#30561"),
        },
    ),
    "shipping": (
        (
            "My package for order {order} has not arrived after {days} days.",
            "The tracking number for {order} shows no movement since {day}.",
            "The parcel arrived {damaged} and I want a replacement.",
            "Can you deliver order {order} to a different address?",
            "The courier left my parcel at the wrong {place}.",
            "How long does shipping to {country} usually take?",
            "I received the wrong item in my box, order {order}.",
            "The delivery was marked as delivered on {day} but nothing came.",
        ),
        {
            "order": ("#48213", "#10077", "#99120", "#30561", "#55102"),
            "days": ("five", "ten", "twelve", "three", "fourteen"),
            "day": ("Monday", "Tuesday", "Friday", "last week", "the weekend"),
            "damaged": ("damaged", "crushed", "wet", "opened", "broken"),
            "place": ("house", "door", "building", "neighbour"),
            "country": ("Canada", "Germany", "Japan", "Brazil", "Australia"),
        },
    ),
    "technical": (
        (
            "The {app} crashes every time I open the {screen}.",
            "I get error {code} when I try to {action}.",
            "Sync stopped working on my {device} after the last update.",
            "The {screen} is blank and keeps loading forever.",
            "Uploading files larger than {size} fails with a timeout.",
            "The {app} is very slow on my {device} since yesterday.",
            "Notifications do not show up on my {device} anymore.",
            "The export to CSV produces an empty file with error {code}.",
        ),
        {
            "app": ("app", "desktop client", "web app", "mobile app", "browser extension"),
            "screen": ("settings page", "dashboard", "reports tab", "editor", "calendar view"),
            "code": ("500", "E1023", "403", "0x80070005", "TIMEOUT_42"),
            "action": ("save a file", "share a document", "connect my calendar", "run a report"),
            "device": ("iPhone", "Android phone", "Windows laptop", "Mac", "tablet"),
            "size": ("10 MB", "100 MB", "2 GB", "500 MB"),
        },
    ),
    "account": (
        (
            "I cannot log in, it says my {credential} is wrong.",
            "Please reset the {credential} for my account.",
            "How do I change the email address on my {profile}?",
            "I want to delete my account and all my {data}.",
            "My account was locked after {attempts} failed sign-in attempts.",
            "I never received the {code_kind} to verify my account.",
            "Can I add a second {role} to our workspace?",
            "Two-factor authentication is not accepting my {code_kind}.",
        ),
        {
            "credential": ("password", "username", "PIN", "security answer"),
            "profile": ("profile", "account", "login", "user settings"),
            "data": ("data", "personal data", "files", "history"),
            "attempts": ("three", "five", "several", "too many"),
            "code_kind": ("verification code", "confirmation email", "SMS code", "login link"),
            "role": ("admin", "user", "owner", "billing contact"),
        },
    ),
}

# Tickets that borrow another label's words, as real ones do: about a quarter of each label,
# so that the held-out scores are not all perfect and the confusion matrix says something.
MIXED: dict[str, tuple[str, ...]] = {
    "billing": (
        "The app shows error {code} when I try to pay my invoice.",
        "I was charged for express shipping but chose standard delivery.",
        "After I changed my password I was billed again for the {plan} plan.",
        "My account says payment overdue although the {card} was charged.",
    ),
    "shipping": (
        "I paid {amount} for next-day delivery and the parcel is still not here.",
        "The app does not show the tracking page for order {order}.",
        "I changed the address in my account but the parcel went to the old one.",
        "The refund for the lost package has not been sent, order {order}.",
    ),
    "technical": (
        "The billing page crashes with error {code} when I open it.",
        "The login screen freezes on my {device} before I can type anything.",
        "The tracking page shows error {code} for every order.",
        "The invoice PDF download fails with error {code}.",
    ),
    "account": (
        "I cannot log in to download my invoice.",
        "Please merge my two accounts, one of them has my orders.",
        "The app keeps logging me out on my {device} and asks for my {credential}.",
        "I want to change the owner of our {plan} account to a colleague.",
    ),
}
MIXED_SHARE = 0.25
_MIXED_SLOTS: dict[str, tuple[str, ...]] = {
    "code": ("500", "E1023", "403", "0x80070005", "TIMEOUT_42"),
    "plan": ("Pro", "Team", "Basic", "annual", "monthly", "Enterprise"),
    "card": ("credit card", "Visa card", "debit card", "PayPal account"),
    "amount": ("$12.99", "$49", "€30", "£15.50", "$120", "$7.99"),
    "order": ("#48213", "#10077", "#99120", "#30561", "#55102"),
    "device": ("iPhone", "Android phone", "Windows laptop", "Mac", "tablet"),
    "credential": ("password", "username", "PIN", "security answer"),
}

# Rows that make the preprocessing report non-trivial (see the module docstring).
DUPLICATES = 6
CONFLICTING = (
    ("I have a problem with my order, please call me.", ("shipping", "billing")),
    ("Something is wrong with my account and the app.", ("account", "technical")),
    ("My invoice was sent to the wrong email address.", ("billing", "billing", "account")),
)
# Share of tickets filed under a wrong label, as hand-labelled exports have.
MISLABELLED = 0.04


def ticket(rng: random.Random, label: str) -> str:
    templates, slots = TEMPLATES[label]
    if rng.random() < MIXED_SHARE:
        templates, slots = MIXED[label], _MIXED_SLOTS
    template = rng.choice(templates)
    filled = template.format(**{name: rng.choice(values) for name, values in slots.items()})
    return rng.choice(OPENERS) + filled + rng.choice(CLOSERS)


def rows(seed: int = SEED) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    made: list[tuple[str, str]] = []
    seen: set[str] = set()
    for label in sorted(TEMPLATES):
        count = 0
        while count < PER_LABEL:
            text = ticket(rng, label)
            if text.casefold() in seen:
                continue
            seen.add(text.casefold())
            made.append((text, label))
            count += 1
    labels = sorted(TEMPLATES)
    for index in rng.sample(range(len(made)), round(MISLABELLED * len(made))):
        text, label = made[index]
        made[index] = (text, rng.choice([other for other in labels if other != label]))
    for text, label in rng.sample(made, DUPLICATES):
        made.append(("  " + text.upper() + " ", label))
    for text, labels in CONFLICTING:
        made.extend((text, label) for label in labels)
    rng.shuffle(made)
    return made


def main() -> None:
    with OUT.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(rows())
    print(f"wrote {OUT} ({len(rows())} rows)")


if __name__ == "__main__":
    main()
