"""The connection form of Airflow 2.x's Flask UI, built from a :class:`~airflow_provider_spapi.provider_info.ConnectionForm`.

Airflow 3.2+ renders forms from the provider info's ``conn-fields``; Airflow 2.x (and 3.0/3.1, through
mocked WTForms) call the hook's ``get_connection_form_widgets()`` / ``get_ui_field_behaviour()``. Both
hooks answer those from the same table the provider info is built from, through these two functions,
so a field added to the table shows in every UI.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_spapi.provider_info import ConnectionForm


def connection_form_widgets(form: ConnectionForm) -> dict[str, Any]:
    """WTForms fields for the form's extra fields: password, boolean, integer or (optionally enumerated) text."""
    from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import BooleanField, IntegerField, PasswordField, StringField

    # ``any_of``, not ``AnyOf`` (the same class): Airflow 3.0/3.1 render this form with mocked WTForms and
    # turn only ``wtforms.validators.any_of`` into a dropdown's enum.
    from wtforms.validators import NumberRange, Optional, any_of

    widgets: dict[str, Any] = {}
    for field in form.fields:
        label, help_text = lazy_gettext(field.label), lazy_gettext(field.description)
        if field.sensitive:
            widgets[field.name] = PasswordField(label, widget=BS3PasswordFieldWidget(), description=help_text)
        elif field.type == "boolean":
            widgets[field.name] = BooleanField(label, default=bool(field.default), description=help_text)
        elif field.type == "integer":
            widgets[field.name] = IntegerField(
                label,
                widget=BS3TextFieldWidget(),
                default=field.default,
                description=help_text,
                validators=[Optional(), NumberRange(min=field.minimum)],
            )
        else:
            validators = [Optional(), any_of(list(field.enum))] if field.enum else [Optional()]
            widgets[field.name] = StringField(
                label, widget=BS3TextFieldWidget(), default=field.default, description=help_text, validators=validators
            )
    return widgets


def ui_field_behaviour(form: ConnectionForm) -> dict[str, Any]:
    """The provider info's ``ui-field-behaviour`` in the snake_case keys Airflow 2's hooks return."""
    return {
        "hidden_fields": list(form.behaviour["hidden-fields"]),
        "relabeling": dict(form.behaviour["relabeling"]),
        "placeholders": dict(form.behaviour["placeholders"]),
    }
