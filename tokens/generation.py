"""Making a delivery's tokens and its CSV file (issue: tokens and token files)."""

from __future__ import annotations


def token_file_generate(*, token_file_id: int) -> None:
    raise NotImplementedError("token generation is built in the token-file issue")
