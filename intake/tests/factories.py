"""Factories for intakes (stored with a fixed assessment, not through the rules)."""

import factory

from clinic.tests.factories import ClientFactory
from intake.models import Intake

THERAPEUTIC_ANSWERS = {"pressure_preference": "medium", "primary_goal": "relaxation", "consent": True}
DEEP_ANSWERS = {"pressure_preference": "deep", "primary_goal": "pain_relief", "consent": True}


class IntakeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Intake

    client = factory.SubFactory(ClientFactory)
    form_version = 1
    answers = factory.LazyFunction(lambda: dict(THERAPEUTIC_ANSWERS))
    suggested_modality = "therapeutic"
    score = -2
    needs_review = False
    flags = factory.LazyFunction(list)
    # As stored for a client's first intake: no previous one, so every flag is new.
    changes_since_last = None
    new_flags = factory.LazyAttribute(lambda intake: list(intake.flags))
    reasons = factory.LazyFunction(
        lambda: [{"code": "primary_goal:relaxation", "label": "Goal: relaxation", "points": -2}]
    )
    rules_version = 1
