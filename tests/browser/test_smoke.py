from .conftest import assert_no_exception, open_page, shot


def test_app_opens_on_the_playground(page, app_url):
    open_page(page, app_url)
    assert "Device:" in page.locator("[data-testid='stSidebar']").inner_text()
    assert_no_exception(page)
    assert shot(page, "smoke").stat().st_size > 10_000
