"""Registering, confirming an address, and the account page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.shortcuts import redirect, render
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from .registration import RegistrationForm, confirmation_tokens, register
from .roles import ROLE_NAMES, edited_organisations, roles_of


def register_view(request):
    if request.user.is_authenticated:
        return redirect("account")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        register(request, form)
        return render(request, "accounts/check_email.html", {"email": form.cleaned_data["email"]})
    return render(request, "accounts/register.html", {"form": form})


def confirm_view(request, uidb64: str, token: str):
    User = get_user_model()
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    if user is None or not confirmation_tokens.check_token(user, token):
        return render(request, "uptake/error.html", {
            "title": "That link does not work",
            "message": "The confirmation link is wrong, has been used already or is too old. "
                       "Register again to be sent a new one."}, status=400)
    user.is_active = True
    user.save(update_fields=["is_active"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, "Your e-mail address is confirmed and you are signed in.")
    return redirect("account")


def account_view(request):
    if not request.user.is_authenticated:
        return redirect("login")
    return render(request, "accounts/account.html", {
        "roles": [ROLE_NAMES[r] for r in roles_of(request.user)], "organisations": edited_organisations(request.user)})
