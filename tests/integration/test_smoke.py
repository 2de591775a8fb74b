def test_customer_signs_in_and_sees_account(two_tenants, browser):
    a, _b = two_tenants
    portal = browser(a.slug)

    response = portal.login(a.customer_email)
    home = portal.get("/")

    assert response.status_code == 302
    assert home.status_code == 200
    assert a.account_number in home.get_data(as_text=True)
