"""The modality rules: intake answers in, the suggested modality out (docs/intake.md).

Pure: no Django, no database, so it runs in microseconds and is tested
against every worked case. Everything a clinician may want to read or tune
is data in the tables just below; the code under them only adds up points
and applies the four modality rules in order.

To change a weight or a list: edit the table, bump `RULES_VERSION`, and
update docs/intake.md. Stored intakes keep the version that assessed them.
"""

RULES_VERSION = 1

THERAPEUTIC = "therapeutic"
DEEP_TISSUE = "deep_tissue"

# A score at or above this suggests deep tissue (unless rule 1 or 2 decided).
DEEP_TISSUE_MIN_SCORE = 2

# --- The answers' allowed values, with the words a person reads ---------------
# The form (intake/form.py) builds its choices from these very tables.

PRESSURE_PREFERENCES = {
    "light": "Light",
    "medium": "Medium",
    "firm": "Firm",
    "deep": "Deep",
}

PRIMARY_GOALS = {
    "relaxation": "Relaxation",
    "stress_relief": "Stress relief",
    "pain_relief": "Pain relief",
    "mobility": "Mobility",
    "injury_recovery": "Injury recovery",
}

PAIN_TOLERANCES = {
    "low": "Low",
    "medium": "Medium",
    "high": "High",
}

# Conditions: the three groups of docs/intake.md. Neutral ones are recorded
# for the therapist and score nothing.
THERAPEUTIC_LEANING_CONDITIONS = {
    "stress": "Stress",
    "anxiety": "Anxiety",
    "depression": "Depression",
    "insomnia": "Insomnia / poor sleep",
}
DEEP_LEANING_CONDITIONS = {
    "chronic_pain": "Chronic pain",
    "muscle_tension": "Muscle tension",
    "sports_injury": "Sports injury",
    "joint_stiffness": "Joint stiffness",
    "lower_back_pain": "Lower back pain",
    "neck_shoulder_tension": "Neck and shoulder tension",
    "fibromyalgia": "Fibromyalgia",
    "limited_mobility": "Limited range of motion",
}
NEUTRAL_CONDITIONS = {
    "headache": "Headache",
    "migraine": "Migraine",
    "poor_circulation": "Poor circulation",
}
CONDITIONS = {**THERAPEUTIC_LEANING_CONDITIONS, **DEEP_LEANING_CONDITIONS, **NEUTRAL_CONDITIONS}

# Health screening: any contraindication rules out deep pressure (rule 1);
# every screening answer, of either list, is a flag for the therapist.
CONTRAINDICATIONS = {
    "blood_thinners": "Takes blood thinners",
    "bleeding_disorder": "Bleeding disorder",
    "blood_clots": "Blood clots or history of DVT",
    "recent_surgery": "Recent surgery",
    "recent_fracture": "Recent fracture",
    "osteoporosis": "Osteoporosis",
    "pregnancy": "Pregnancy",
    "cancer_treatment": "Undergoing cancer treatment",
}
REVIEW_FLAGS = {
    "fever_or_infection": "Fever or infection",
    "skin_condition": "Skin condition",
    "high_blood_pressure": "High blood pressure",
}
# Flags are reported in this order (contraindications, then review flags).
HEALTH_SCREENING = {**CONTRAINDICATIONS, **REVIEW_FLAGS}

BODY_AREAS = {
    "head": "Head",
    "neck": "Neck",
    "shoulders": "Shoulders",
    "upper_back": "Upper back",
    "lower_back": "Lower back",
    "arms": "Arms",
    "hands": "Hands",
    "hips": "Hips",
    "glutes": "Glutes",
    "legs": "Legs",
    "feet": "Feet",
}

# --- The score: points per answer ---------------------------------------------
# Positive points lean to deep tissue, negative to therapeutic.

POINTS_PER_CONDITION = {"therapeutic_leaning": -1, "deep_leaning": +1, "neutral": 0}

POINTS = {
    "pressure_preference": {"light": -3, "medium": 0, "firm": +2, "deep": +3},
    "primary_goal": {
        "relaxation": -2,
        "stress_relief": -2,
        "pain_relief": +1,
        "mobility": +1,
        "injury_recovery": +1,
    },
    "pain_tolerance": {"low": -2, "medium": 0, "high": 0},
    # Each condition ticked adds its group's points.
    "conditions": {
        **dict.fromkeys(THERAPEUTIC_LEANING_CONDITIONS, POINTS_PER_CONDITION["therapeutic_leaning"]),
        **dict.fromkeys(DEEP_LEANING_CONDITIONS, POINTS_PER_CONDITION["deep_leaning"]),
        **dict.fromkeys(NEUTRAL_CONDITIONS, POINTS_PER_CONDITION["neutral"]),
    },
}

# --- Reasons: a machine code and a sentence a therapist reads -------------------
# answer -> (code prefix, label template, the value labels it is filled from);
# a template may use {label} ("Deep") or {lower} ("deep").
REASON_WORDING = {
    "pressure_preference": ("pressure_preference", "Prefers {lower} pressure", PRESSURE_PREFERENCES),
    "primary_goal": ("primary_goal", "Goal: {lower}", PRIMARY_GOALS),
    "pain_tolerance": ("pain_tolerance", "{label} pain tolerance", PAIN_TOLERANCES),
    "conditions": ("condition", "Condition: {lower}", CONDITIONS),
}
RULE_CONTRAINDICATED = "rule:contraindicated"
RULE_LIGHT_PRESSURE = "rule:light_pressure"
RULE_LABELS = {
    RULE_CONTRAINDICATED: "Health screening rules out deep pressure",
    RULE_LIGHT_PRESSURE: "Client asked for light pressure",
}

# The pressure that, asked for, always means therapeutic (rule 2).
LIGHT_PRESSURE = "light"

# Built once: every scoring answer's (code, label). Labels are wording, not
# weights, so tuning POINTS (even at runtime, as the tests do) needs no rebuild.
_REASONS = {
    (answer, value): (f"{prefix}:{value}", template.format(label=label, lower=label.lower()))
    for answer, (prefix, template, value_labels) in REASON_WORDING.items()
    for value, label in value_labels.items()
}


def assess(answers: dict) -> dict:
    """The assessment of validated answers (see `intake.form.validate_answers`).

    Returns `{"modality", "score", "needs_review", "flags", "reasons",
    "rules_version"}`. Optional answers may be absent (they score nothing);
    values outside the tables raise KeyError, since validation comes first.
    """
    score = 0
    reasons = []
    for answer, points_by_value in POINTS.items():
        given = answers.get(answer)
        if given is None:
            continue
        # `conditions` is a list: each value in it scores.
        for value in given if isinstance(given, list) else (given,):
            points = points_by_value[value]
            score += points
            if points:
                code, label = _REASONS[answer, value]
                reasons.append({"code": code, "label": label, "points": points})

    screening = set(answers.get("health_screening", ()))
    flags = [item for item in HEALTH_SCREENING if item in screening]
    contraindicated = not screening.isdisjoint(CONTRAINDICATIONS)
    light_pressure = answers.get("pressure_preference") == LIGHT_PRESSURE

    # Rules 1 and 2 are reasons whenever they hold, even when rule 1 already decided.
    for code, holds in ((RULE_CONTRAINDICATED, contraindicated), (RULE_LIGHT_PRESSURE, light_pressure)):
        if holds:
            reasons.append({"code": code, "label": RULE_LABELS[code], "points": 0})
    reasons.sort(key=lambda reason: reason["code"])

    # The first rule that applies decides (docs/intake.md, "The suggestion").
    if contraindicated or light_pressure:
        modality = THERAPEUTIC
    elif score >= DEEP_TISSUE_MIN_SCORE:
        modality = DEEP_TISSUE
    else:
        modality = THERAPEUTIC

    return {
        "modality": modality,
        "score": score,
        "needs_review": bool(flags),
        "flags": flags,
        "reasons": reasons,
        "rules_version": RULES_VERSION,
    }


def rules_table() -> list[dict]:
    """Every scoring answer as a row `{answer, value, label, points}`, in table order.

    For people: the admin's rules page and the docs show it.
    """
    return [
        {"answer": answer, "value": value, "label": REASON_WORDING[answer][2][value], "points": points}
        for answer, points_by_value in POINTS.items()
        for value, points in points_by_value.items()
    ]
