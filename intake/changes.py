"""What changed since a client's previous intake: the answer fields that differ, and the new flags.

Pure, like `intake/rules.py`: plain data in, plain data out, no database
(docs/intake.md, Changes since the last intake). The services store both
results with every intake; the therapist reads them.
"""

from intake.rules import HEALTH_SCREENING

# The answer fields compared, in the form's order, each with its default. Consent is
# not among them: every stored intake has it, true. A field left out of either
# intake (an older form, a question skipped) counts as its default.
COMPARED_FIELDS: dict[str, object] = {
    "pressure_preference": None,
    "primary_goal": None,
    "conditions": [],
    "pain_tolerance": "medium",
    "health_screening": [],
    "focus_areas": [],
    "avoid_areas": [],
    "medications": "",
    "notes": "",
}


def _comparable(value: object) -> object:
    """A value as the comparison sees it: a list as a set, a text trimmed."""
    if isinstance(value, list):
        return frozenset(_comparable(item) for item in value)
    if isinstance(value, str):
        return value.strip()
    return value


def changes_since_last(previous_answers: dict | None, answers: dict) -> list[str] | None:
    """The answer fields whose values differ from `previous_answers`, in form order.

    `None` when there is no previous intake (a first intake); `[]` when
    nothing changed. Defaults fill what either side left out; lists compare
    as sets and texts after trimming surrounding spaces.
    """
    if previous_answers is None:
        return None
    return [
        name
        for name, default in COMPARED_FIELDS.items()
        if _comparable(previous_answers.get(name, default)) != _comparable(answers.get(name, default))
    ]


def new_flags(previous_flags: list[str] | None, flags: list[str]) -> list[str]:
    """The `flags` the previous intake did not have, in flag order; all of them for a first intake."""
    before = set(previous_flags or ())
    given = set(flags)
    ordered = [flag for flag in HEALTH_SCREENING if flag in given and flag not in before]
    # A flag outside today's list (an older rules version) still counts, after the known ones.
    return ordered + [flag for flag in flags if flag not in HEALTH_SCREENING and flag not in before]
