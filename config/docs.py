"""The API's documentation pages (Swagger UI, Redoc), each under a Content-Security-Policy.

Both load only the drf-spectacular-sidecar's files, served from this site's
own static files, and the schema from /api/schema/: the policy allows 'self'
and nothing else, so a script injected into a page (a field description of
the schema, say) cannot run, and no page of ours loads from another host.

- Swagger UI: drf-spectacular's split view serves the page's start-up script
  as a file of its own (`?script`), so no script is inline. The page's one
  inline <style> is allowed by its hash.
- Redoc: no inline script (REDOC_UI_SETTINGS is empty). Redoc styles itself
  with styled-components, which writes <style> elements at run time, so
  styles are allowed inline on that page only (styles cannot run code). Its
  search runs in a Web Worker made from a blob: URL of its own code. The
  Google Fonts its template links are refused: Redoc falls back to the
  browser's fonts, and readers' addresses are not sent to Google.

config/tests/test_headers.py checks that every inline element of the pages
as served is covered; a drf-spectacular upgrade that changes them fails there.
"""

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

# sha256 of the <style> element of drf_spectacular/swagger_ui.html (drf-spectacular 0.30.0).
SWAGGER_UI_STYLE_HASH = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"

COMMON = {
    "default-src": "'none'",
    "script-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
SWAGGER_UI_POLICY = {**COMMON, "style-src": f"'self' {SWAGGER_UI_STYLE_HASH}"}
REDOC_POLICY = {**COMMON, "style-src": "'self' 'unsafe-inline'", "worker-src": "'self' blob:"}


def policy_header(policy: dict[str, str]) -> str:
    return "; ".join(f"{directive} {sources}" for directive, sources in policy.items())


class SwaggerUIView(SpectacularSwaggerSplitView):
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = policy_header(SWAGGER_UI_POLICY)
        return response


class RedocView(SpectacularRedocView):
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = policy_header(REDOC_POLICY)
        return response
