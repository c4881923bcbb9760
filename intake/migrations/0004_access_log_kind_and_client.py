"""The audit log records what kind of data was read (an intake, treatment notes, a history) and whose.

Existing rows are all intake reads: `kind` defaults to `intake` and `client`
is filled from each row's intake. That one backfill is an UPDATE of the
append-only table, so the migration (run as the tables' owner) lifts the
append-only trigger for that statement alone, inside its own transaction: no
recorded fact changes, a new column gets the value it stands for.
"""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0003_intake_access_truncate_guard_reads_the_catalog"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="intakeaccess",
            name="client",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.RunSQL(
            sql=[
                "ALTER TABLE intake_intakeaccess DISABLE TRIGGER pgtrigger_intake_access_append_only_5464a",
                "UPDATE intake_intakeaccess a SET client_id = i.client_id FROM intake_intake i WHERE i.id = a.intake_id",
                # The new foreign key is deferred: check it now, or the ALTER TABLE below refuses to run.
                "SET CONSTRAINTS ALL IMMEDIATE",
                "ALTER TABLE intake_intakeaccess ENABLE TRIGGER pgtrigger_intake_access_append_only_5464a",
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="intakeaccess",
            name="client",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="intakeaccess",
            name="kind",
            field=models.CharField(
                choices=[("intake", "Intake"), ("notes", "Treatment notes"), ("history", "Client history")],
                db_default="intake",
                default="intake",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="intakeaccess",
            name="booking_id",
            field=models.BigIntegerField(blank=True, db_index=True, null=True),
        ),
        migrations.AlterField(
            model_name="intakeaccess",
            name="intake",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="accesses",
                to="intake.intake",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="intakeaccess",
            trigger=pgtrigger.compiler.Trigger(
                name="intake_access_client_of_intake",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="IF NEW.intake_id IS NOT NULL THEN SELECT client_id INTO NEW.client_id FROM intake_intake WHERE id = NEW.intake_id; END IF; RETURN NEW;",
                    hash="e644cd76e69df214c7bf72fb4c3c092289334e40",
                    operation="INSERT",
                    pgid="pgtrigger_intake_access_client_of_intake_25519",
                    table="intake_intakeaccess",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AddConstraint(
            model_name="intakeaccess",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("intake__isnull", False), ("kind", "intake")),
                    models.Q(("booking_id__isnull", False), ("kind", "notes")),
                    ("kind", "history"),
                    _connector="OR",
                ),
                name="intake_access_names_what_was_read",
            ),
        ),
    ]
