"""A password check beside Django's (length 12, common passwords, similarity, all digits):
passwords made of one short piece repeated (`aaaaaaaaaaaa`, `abcabcabcabc`) or of a walk along
the keyboard or the alphabet (`qwertyuiopas`, `abcdefghijkl`, `123456789012`) are the first an
attacker tries and are refused (issue 24.14)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# Rows of a UK keyboard run together (a walk may wrap to the next row), the alphabet and digits.
SEQUENCES = ("1234567890", "qwertyuiopasdfghjklzxcvbnm", "abcdefghijklmnopqrstuvwxyz", "01234567890")
MIN_DISTINCT = 5
MAX_SEQUENTIAL_SHARE = 0.5


def _sequential(password: str) -> int:
    """How many characters of `password` lie in runs of 4 or more consecutive keys or letters."""
    text = password.lower()
    forward = SEQUENCES + tuple(s[::-1] for s in SEQUENCES)
    covered = [False] * len(text)
    for start in range(len(text)):
        for seq in forward:
            end = start
            while end + 1 < len(text) and (pair := text[end:end + 2]) and pair in seq:
                end += 1
            if end - start + 1 >= 4:
                for i in range(start, end + 1):
                    covered[i] = True
    return sum(covered)


class PatternValidator:
    def validate(self, password: str, user=None) -> None:
        if re.fullmatch(r"(.{1,6}?)\1+", password, re.S) or len(set(password)) < MIN_DISTINCT:
            raise ValidationError("This password is one short piece repeated; choose one that is harder to guess, "
                                  "for example three or four unrelated words", code="password_repetitive")
        if _sequential(password) > MAX_SEQUENTIAL_SHARE * len(password):
            raise ValidationError("This password is mostly a run of neighbouring keys or letters; choose one that "
                                  "is harder to guess, for example three or four unrelated words",
                                  code="password_sequential")

    def get_help_text(self) -> str:
        return "Your password cannot be one piece repeated or a run of neighbouring keys."
