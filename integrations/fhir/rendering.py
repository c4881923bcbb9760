"""`application/fhir+json` out, whatever JSON the caller accepts.

Every answer (errors too) is `Content-Type: application/fhir+json`. A
request may accept `application/fhir+json` (with `fhirVersion` 4.0 or 4.3,
or none), `application/json`, `application/*` or `*/*`, or send no
`Accept` at all; anything else (HTML, XML, `application/fhir+xml`, ...) is
a 406 OperationOutcome. Quality 0 refuses a type, as HTTP says.
"""

import json

from pydantic import BaseModel
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer

FHIR_JSON = "application/fhir+json"
ACCEPTED = frozenset({FHIR_JSON, "application/json", "application/*", "*/*"})
FHIR_VERSIONS = frozenset({"4.0", "4.3"})


class FhirJSONRenderer(BaseRenderer):
    """Renders an R4B model with its own serializer (FHIR's JSON: no empty or null values); other data as JSON."""

    media_type = FHIR_JSON
    format = "fhir"
    charset = None  # JSON is UTF-8 by definition: no charset parameter

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        if isinstance(data, BaseModel):
            return data.model_dump_json().encode()
        return json.dumps(data, ensure_ascii=False).encode()


def _acceptable(header: str) -> bool:
    for part in header.split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        if not media:
            continue
        values = dict(
            (name.strip().lower(), value.strip().strip('"'))
            for name, _, value in (parameter.partition("=") for parameter in parameters)
        )
        try:
            quality = float(values.get("q", "1"))
        except ValueError:
            quality = 1.0
        version = values.get("fhirversion")
        if media.lower() in ACCEPTED and quality > 0 and (version is None or version in FHIR_VERSIONS):
            return True
    return False


class FhirContentNegotiation(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        header = request.META.get("HTTP_ACCEPT", "").strip()
        if header and not _acceptable(header):
            raise NotAcceptable(
                f"This server answers {FHIR_JSON} only: accept {FHIR_JSON}, application/json or */* "
                f"(you accept {header[:80]!r})."
            )
        return renderers[0], renderers[0].media_type
