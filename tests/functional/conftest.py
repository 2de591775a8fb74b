"""The test client of the functional tests closes each response once it has read it, as a WSGI server does after
sending the last byte: work registered to run after the response (mail sent after it, see
`app.mail.send_after_response`) has run when the test looks at the outbox."""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient


class ServerLikeClient(FlaskClient):
    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture
def client(app):
    with ServerLikeClient(app, app.response_class, use_cookies=True) as test_client:
        yield test_client
