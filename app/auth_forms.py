"""Sign-in and password forms shared by the portal, the back office and the console."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

# Sign-in only needs something shaped like an address; the lookup decides the rest.
EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter your e-mail address.")),
        Regexp(EMAIL_SHAPE, message=_l("Enter a valid e-mail address.")),
    ])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter your e-mail address.")),
        Regexp(EMAIL_SHAPE, message=_l("Enter a valid e-mail address.")),
    ])


def _new_password_field():
    return PasswordField(_l("New password"), validators=[
        DataRequired(_l("Enter a new password.")),
        Length(min=10, message=_l("Use at least 10 characters.")),
    ])


def _confirm_field():
    return PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(_l("Repeat the new password.")),
        EqualTo("password", _l("The two passwords are different.")),
    ])


class NewPasswordForm(FlaskForm):
    password = _new_password_field()
    confirm = _confirm_field()


class ChangePasswordForm(FlaskForm):
    # Fields are declared in the page's order: the error summary lists problems in field order.
    current_password = PasswordField(_l("Current password"),
                                     validators=[DataRequired(_l("Enter your current password."))])
    password = _new_password_field()
    confirm = _confirm_field()
