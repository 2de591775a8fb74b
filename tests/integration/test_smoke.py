from tests.conftest import host, login


def test_customer_signs_in_and_sees_account(app, client, two_tenants):
    a, _b = two_tenants

    response = login(client, host(a.slug), a.customer_email)
    home = client.get("/", headers={"Host": host(a.slug)})

    assert response.status_code == 302
    assert home.status_code == 200
    assert a.account_number in home.get_data(as_text=True)
