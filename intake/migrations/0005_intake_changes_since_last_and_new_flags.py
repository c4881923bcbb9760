"""Every intake stores what changed since its client's previous one: `changes_since_last` and `new_flags`.

The intakes already stored get theirs here, each against the same client's
intake given before it (by when it was given, then id), with the stored
flags of both: the same comparison `intake/changes.py` makes for new ones.
"""

from django.db import migrations, models

from intake.changes import changes_since_last, new_flags

BATCH = 500


def fill_changes(apps, schema_editor):
    Intake = apps.get_model("intake", "Intake")
    rows = Intake.objects.only("id", "client_id", "answers", "flags").order_by("client_id", "created_at", "id")
    previous, batch = None, []
    for intake in rows.iterator(chunk_size=BATCH):
        if previous is not None and previous.client_id != intake.client_id:
            previous = None  # the next client's first intake
        intake.changes_since_last = changes_since_last(previous.answers if previous else None, intake.answers)
        intake.new_flags = new_flags(previous.flags if previous else None, intake.flags)
        previous = intake
        batch.append(intake)
        if len(batch) >= BATCH:
            Intake.objects.bulk_update(batch, ["changes_since_last", "new_flags"])
            batch = []
    Intake.objects.bulk_update(batch, ["changes_since_last", "new_flags"])


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0004_access_log_kind_and_client"),
    ]

    operations = [
        migrations.AddField(
            model_name="intake",
            name="changes_since_last",
            field=models.JSONField(
                blank=True,
                default=None,
                help_text="The answer fields that differ from the client's previous intake, in form order; null for their first intake.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="intake",
            name="new_flags",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Flags the previous intake did not have (all of them for a first intake).",
            ),
        ),
        migrations.RunPython(fill_changes, migrations.RunPython.noop),
    ]
