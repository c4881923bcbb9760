"""Moving through a page the way a keyboard user does, for the browser tests (Playwright, sync API)."""

import re
from urllib.parse import urlsplit


def at(path_pattern: str):
    """A URL predicate for `page.wait_for_url`: the path (not the query string) matches `path_pattern` whole."""
    return lambda url: re.fullmatch(path_pattern, urlsplit(url).path) is not None


def focused(page, selector: str) -> bool:
    return page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector)


def tab_to(page, selector: str, limit: int = 150) -> None:
    """Press Tab until the focused element matches `selector` (a CSS selector); its focus must be visible."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page, selector):
            assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")
