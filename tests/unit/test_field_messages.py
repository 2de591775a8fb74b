"""Pydantic's refusal reasons worded for the API's callers: kinds that mean the same thing read the same."""
from __future__ import annotations

from flask import Flask
from flask_babel import Babel

from api.field_messages import field_message


def test_kinds_that_mean_the_same_read_the_same_and_unknown_ones_keep_pydantics_words():
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context():
        assert field_message({"type": "int_type"}) == field_message({"type": "int_parsing"}) == \
            "Must be a whole number."
        assert field_message({"type": "timezone_aware"}) == "Must be a time written as RFC 3339, with its offset."
        assert field_message({"type": "model_type"}) == "Must be an object."
        assert field_message({"type": "string_too_long", "ctx": {"max_length": 40}}) == "At most 40 characters."
        assert field_message({"type": "url_parsing", "msg": "Input should be a valid URL"}) == \
            "Input should be a valid URL"
