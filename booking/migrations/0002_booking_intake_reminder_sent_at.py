"""Pending intakes are reminded of once, 48 hours before the session (booking.reminders)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0001_v2_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="booking",
            name="intake_reminder_sent_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the client was reminded of their pending intake (once per booking).",
                null=True,
            ),
        ),
        migrations.AddIndex(
            model_name="booking",
            index=models.Index(
                condition=models.Q(
                    ("intake_reminder_sent_at__isnull", True), ("intake_status", "pending"), ("status", "confirmed")
                ),
                fields=["starts_at"],
                name="booking_intake_remind_due_idx",
            ),
        ),
    ]
