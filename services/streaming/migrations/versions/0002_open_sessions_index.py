"""index of open play sessions by last report, for the idle sweep

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 19:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_play_sessions_open_last_event",
        "play_sessions",
        ["last_event_at"],
        unique=False,
        postgresql_where=sa.text("ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_play_sessions_open_last_event",
        table_name="play_sessions",
        postgresql_where=sa.text("ended_at IS NULL"),
    )
