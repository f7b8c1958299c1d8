"""The CLC's schema steps, in order. Append; never edit a released step.

Step 1 creates the tables as the models first declared them. A later step that
changes a table must use explicit DDL (``ALTER TABLE ...``) written so that it is
also correct on a database created after the change by step 1's ``create_all``
(check for the column first), because step 1 always reflects the current models.
"""

from __future__ import annotations

from sqlalchemy import Connection

from eucalyptus.clc.identity.models import Base
from eucalyptus.common.db import Migration


def _create_identity_tables(conn: Connection) -> None:
    Base.metadata.create_all(conn)


MIGRATIONS = [
    Migration(1, "identity, components, properties and issued ids", _create_identity_tables),
]
