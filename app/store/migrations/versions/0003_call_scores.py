"""call_scores: de-identified empathy score parts per call (kept after retention)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_scores",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=True),
        sa.Column("agent_id", sa.String(length=128), nullable=False),
        sa.Column("call_date", sa.Date(), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("overall", sa.Float(), nullable=True),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("distress_start", sa.Float(), nullable=True),
        sa.Column("distress_end", sa.Float(), nullable=True),
        sa.Column("crisis", sa.Boolean(), nullable=False),
        sa.Column("good_moments", sa.Integer(), nullable=False),
        sa.Column("missed_moments", sa.Integer(), nullable=False),
        sa.Column("nudges", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id"),
    )
    with op.batch_alter_table("call_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_scores_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_scores_call_date"), ["call_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_scores_call_date"))
        batch_op.drop_index(batch_op.f("ix_call_scores_agent_id"))
    op.drop_table("call_scores")
