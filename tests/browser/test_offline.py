"""Offline means offline (issue 21.10): on every page, nothing the app serves makes the browser
reach a host other than this machine (the favicon once came from a web font server)."""
from __future__ import annotations

from urllib.parse import urlparse

from .conftest import assert_no_exception, open_page, wait_idle

PAGES = {"": "Playground", "inside": "Inside the network", "arena": "Optimizer arena",
         "conv_lab": "Convolution lab", "activations": "Activation functions", "backprop": "Backpropagation, step by step"}
LOCAL = {"127.0.0.1", "localhost", "::1", "[::1]"}


def test_no_page_asks_for_anything_outside_the_machine(page, app_url):
    outside: list[str] = []

    def note(request) -> None:
        url = urlparse(request.url)
        if url.scheme not in ("data", "blob", "about") and url.hostname not in LOCAL:
            outside.append(request.url)
    page.on("request", note)
    open_page(page, app_url)
    for path, title in PAGES.items():
        if path:
            page.locator(f"[data-testid='stSidebarNav'] a[href$='/{path}']").click()
            page.wait_for_url(f"**/{path}")
        page.get_by_role("heading", name=title).first.wait_for()
        wait_idle(page)
        page.wait_for_timeout(1500)                     # icons, fonts and charts load after the script
        assert_no_exception(page)
    icon = page.evaluate("() => [...document.querySelectorAll(\"link[rel~='icon']\")].map(l => l.href)")
    assert icon and all(urlparse(h).hostname in LOCAL or h.startswith("data:") for h in icon), icon
    assert not outside, outside
