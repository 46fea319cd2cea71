"""Marking a column as encrypted at rest.

A table module declares an encrypted column with :func:`encrypted_column`; the column holds
text produced by :meth:`watchkeeper.security.crypto.SecretBox.encrypt_for`. The registry of
encrypted columns is the schema itself: :func:`encrypted_columns` walks the metadata for
columns carrying the marker, so ``watchkeeper secrets rotate-key`` re-encrypts every one of
them without a second list to keep in sync.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

ENCRYPTED_MARKER = "watchkeeper_encrypted"


def encrypted_column(name: str, *, nullable: bool = True) -> sa.Column[str]:
    """A text column whose values are AES-256-GCM ciphertexts (``wk1:<key id>:<base64>``)."""
    return sa.Column(name, sa.Text(), nullable=nullable, info={ENCRYPTED_MARKER: True})


@dataclass(frozen=True, slots=True)
class EncryptedColumn:
    table: sa.Table
    column: sa.Column[str]

    @property
    def context(self) -> str:
        """Bound into each ciphertext as associated data: a value cannot be moved to
        another column or table and still decrypt."""
        return context_for(self.table.name, self.column.name)


def context_for(table: str, column: str) -> str:
    return f"{table}.{column}"


def encrypted_columns(metadata: sa.MetaData) -> list[EncryptedColumn]:
    """Every column marked encrypted, in a stable order."""
    out: list[EncryptedColumn] = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            if column.info.get(ENCRYPTED_MARKER):
                if not list(table.primary_key.columns):
                    raise ValueError(
                        f"table {table.name} has an encrypted column but no primary key; "
                        "key rotation updates rows by primary key"
                    )
                out.append(EncryptedColumn(table, column))
    return out
