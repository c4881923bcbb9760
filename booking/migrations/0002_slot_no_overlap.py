"""A therapist's slots never overlap: a PostgreSQL exclusion constraint.

`EXCLUDE USING gist (therapist_id WITH =, tstzrange(starts_at, ends_at) WITH &&)`
needs `btree_gist` for the equality on a bigint. Half-open ranges ('[)'),
so back-to-back slots (10:00-11:00, 11:00-12:00) are allowed.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE booking_slot ADD CONSTRAINT slot_no_overlap_per_therapist
    EXCLUDE USING gist (therapist_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&);
"""
DROP = "ALTER TABLE booking_slot DROP CONSTRAINT IF EXISTS slot_no_overlap_per_therapist;"


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
