"""The pages' forms: Django forms for the HTML, checked by the API's own serializers and services.

A page and the API must refuse the same input in the same words, so these
forms do not validate fields themselves: `SerializerForm` hands the raw
values to the API's serializer and puts each of its messages beside its
field (Django renders `aria-invalid` and `aria-describedby` for it).
"""

from django import forms
from django.core.exceptions import ValidationError
from rest_framework.exceptions import Throttled

from booking.api.serializers import BookingCancelSerializer
from booking.api.waitlist_serializers import WaitlistJoinSerializer
from clinic.api.serializers import RegisterSerializer, TokenRequestSerializer


class SerializerForm(forms.Form):
    """A form whose values are checked by `serializer_class` (the API's), not by Django's fields."""

    serializer_class = None

    def __init__(self, *args, request=None, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)

    def _clean_fields(self):
        # The raw values, untouched: the serializer says what is wrong with them, in the API's words.
        for name, bound_field in self._bound_items():
            value = bound_field.data
            if value is not None:
                self.cleaned_data[name] = value

    def serializer_context(self) -> dict:
        return {"request": self.request}

    def clean(self):
        serializer = self.serializer_class(data=dict(self.cleaned_data), context=self.serializer_context())
        if not serializer.is_valid():
            self.add_serializer_errors(serializer.errors)
            return self.cleaned_data
        return serializer.validated_data

    def _shown_field(self, name: str) -> str | None:
        """The field a message goes beside; None (the form's own messages) for one the page does not show."""
        field = self.fields.get(name)
        return name if field is not None and not field.widget.is_hidden else None

    def add_serializer_errors(self, errors) -> None:
        for field, messages in errors.items():
            self.add_error(self._shown_field(field), [str(m) for m in messages])

    def add_validation_error(self, error: ValidationError) -> None:
        """A service's ValidationError (`{field: [messages]}`) beside the fields it names."""
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                self.add_error(self._shown_field(field), messages)
        else:
            self.add_error(None, error.messages)


class LoginForm(SerializerForm):
    """Email and password, checked as the API's login checks them (and counted by the lockout)."""

    serializer_class = TokenRequestSerializer
    email = forms.CharField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    locked = False

    def clean(self):
        try:
            return super().clean()
        except Throttled as exc:
            # django-axes' lockout: the API answers 429 with this sentence.
            self.locked = True
            self.add_error(None, str(exc.detail))
            return self.cleaned_data

    def get_user(self):
        return self.cleaned_data["user"]


class RegisterForm(SerializerForm):
    """A new client's account, checked by the API's register serializer and `account_create`."""

    serializer_class = RegisterSerializer
    first_name = forms.CharField(
        label="First name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label="Last name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    email = forms.CharField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autocapitalize": "none", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label="Phone (optional)",
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=128,
        help_text="At least 8 characters, not only digits, not a common password, not like your name or email.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class CancelForm(SerializerForm):
    """Why a booking is cancelled (optional), checked as the API's cancel checks it."""

    serializer_class = BookingCancelSerializer
    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        max_length=500,
        help_text="Up to 500 characters. It helps the clinic, and your therapist sees it.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class WaitlistJoinForm(SerializerForm):
    """Join the waitlist for a day that is full (or any dates), checked by the API's join serializer.

    `from` and `to` are the API's names (a Python keyword, so they are added
    in `__init__`); the service, location and therapist come from the page
    of times the client was on.
    """

    serializer_class = WaitlistJoinSerializer
    service = forms.CharField(widget=forms.HiddenInput)
    location = forms.CharField(required=False, widget=forms.HiddenInput)
    therapist = forms.CharField(required=False, widget=forms.HiddenInput)
    earliest_time = forms.CharField(
        label="Not starting before (optional)",
        required=False,
        help_text="A time of day, e.g. 09:00.",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    latest_time = forms.CharField(
        label="Ending by (optional)",
        required=False,
        help_text="A time of day, e.g. 13:00.",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from"] = forms.CharField(
            label="From", help_text="The first day you can come.", widget=forms.DateInput(attrs={"type": "date"})
        )
        self.fields["to"] = forms.CharField(
            label="To", help_text="The last day you can come.", widget=forms.DateInput(attrs={"type": "date"})
        )
        self.order_fields(["from", "to", "earliest_time", "latest_time"])

    def _clean_fields(self):
        super()._clean_fields()
        # An optional value left empty is left out, as the API's clients leave it out.
        for name in ("location", "therapist", "earliest_time", "latest_time"):
            if self.cleaned_data.get(name) == "":
                del self.cleaned_data[name]

    @property
    def from_field(self):
        return self["from"]

    @property
    def to_field(self):
        return self["to"]
