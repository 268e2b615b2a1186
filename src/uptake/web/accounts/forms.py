from django.contrib.auth.forms import AuthenticationForm


class SignInForm(AuthenticationForm):
    """Sign in by e-mail address, whatever its case (accounts store it in lower case)."""

    def clean_username(self):
        return (self.cleaned_data.get("username") or "").strip().lower()
