"""Forms of the account pages (Flask-WTF: each carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length


class RegisterForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=32)])
    email = StringField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    display_name = StringField(_l("Display name (optional)"), validators=[Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class LoginForm(FlaskForm):
    login = StringField(_l("Username or email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(max=200)]
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[Length(max=100)])
    bio = TextAreaField(_l("About you"), validators=[Length(max=2000)])


class OrganizationForm(FlaskForm):
    slug = StringField(_l("Short name (used in addresses)"), validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])
    is_vendor = BooleanField(_l("This is a hardware vendor"))


class MemberForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=32)])
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice("member", _l("Member")), SelectChoice("owner", _l("Owner"))],
        default="member",
    )


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change something."""
