from tenants.resolution import is_valid_slug, split_host


def test_split_host_drops_port_and_case():
    assert split_host("Alpha.LocalHost:5000") == "alpha.localhost"
    assert split_host("alpha.localhost.") == "alpha.localhost"
    assert split_host("[::1]:5000") == "[::1]"


def test_slugs():
    assert is_valid_slug("aquaville")
    assert is_valid_slug("multi-energy-2")
    assert not is_valid_slug("-bad")
    assert not is_valid_slug("Bad")
    assert not is_valid_slug("console")
    assert not is_valid_slug("a" * 41)
