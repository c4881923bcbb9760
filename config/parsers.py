"""The API's JSON parser: it never answers a bad body with a 500."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class NestingSafeJSONParser(JSONParser):
    """DRF's JSON parser, answering 400 to JSON nested too deep for Python.

    Python's json raises RecursionError, not the ValueError DRF turns into a
    400, on `[[[[...` a few thousand deep: well inside the request size limit.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
