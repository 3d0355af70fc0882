"""Credentials: API keys of the common shapes, bearer tokens, JWTs, private-key blocks and
passwords in URLs. Kind ``SECRET``.

The key shapes are the documented prefixes of each issuer (the same families secret scanners
such as GitHub's push protection and gitleaks look for), each with its real length or
alphabet, so ordinary words that happen to start with ``sk-`` are not matched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._detection import Detection

__all__ = ["SecretDetector"]

_KEY_SHAPES = [
    r"sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{80,}",  # Anthropic
    r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",  # OpenAI
    r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}",  # AWS access key id
    r"gh[pousr]_[A-Za-z0-9]{36,255}",  # GitHub tokens
    r"github_pat_[A-Za-z0-9_]{82}",  # GitHub fine-grained token
    r"glpat-[A-Za-z0-9_-]{20}",  # GitLab personal access token
    r"xox[baprs]-[A-Za-z0-9-]{10,}",  # Slack
    r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe
    r"AIza[0-9A-Za-z_-]{35}",  # Google API key
    r"hf_[A-Za-z]{34}",  # Hugging Face
    r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",  # SendGrid
    r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JWT
]
# The look-ahead on the shapes' first letters comes first so that the regex engine skips ahead
# to those letters instead of trying the twelve shapes at every character (0.11 -> 0.07 ms on
# the 2 KB benchmark message).
_KEYS = re.compile(
    r"(?=[sAghxrpeS])(?<![A-Za-z0-9_-])(?:" + "|".join(_KEY_SHAPES) + r")(?![A-Za-z0-9_-])"
)
_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r".*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
    re.DOTALL,
)
# "Authorization: Bearer <token>", "bearer <token>": the token only, the scheme stays readable.
_BEARER = re.compile(r"(?i:\b(?:bearer|token))\s+([A-Za-z0-9._~+/=-]{16,})")
# scheme://user:password@host: the whole user-info is masked (user names are often personal
# too) and it starts before any e-mail-shaped tail, so it wins the overlap with the e-mail.
_URL_CREDENTIALS = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://([^\s:/?#@]+:[^\s/?#@]+)@")
# password=..., "password": "...", pwd: ... in configs and logs.
_ASSIGNED = re.compile(
    r"""(?i:\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token)\b)\s*["']?\s*[:=]\s*["']?([^\s"',;]{6,})"""
)

_GATED: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (_BEARER, ("bearer", "token")),
    (_URL_CREDENTIALS, ("://",)),
    (_ASSIGNED, ("pass", "pwd", "secret", "key", "token")),
)


class SecretDetector:
    """API keys, bearer tokens, JWTs, private-key blocks, passwords in URLs and assigned
    credentials (``password=…``, ``"api_key": "…"``). Kind ``SECRET``."""

    kind = "SECRET"

    def __call__(self, text: str) -> Iterator[Detection]:
        for match in _KEYS.finditer(text):
            yield Detection(match.start(), match.end(), self.kind)
        if "-----BEGIN" in text:
            for match in _PRIVATE_KEY.finditer(text):
                yield Detection(match.start(), match.end(), self.kind)
        # Each of these needs a keyword or "://": one lower-cased copy of the text answers
        # whether to scan at all, which is most of the time "no" (a case-insensitive regex
        # cannot skip ahead and costs about 0.1 ms per 2 KB).
        lowered = text.lower()
        for pattern, needles in _GATED:
            if any(needle in lowered for needle in needles):
                for match in pattern.finditer(text):
                    yield Detection(match.start(1), match.end(1), self.kind)

    def __repr__(self) -> str:
        return "SecretDetector()"
