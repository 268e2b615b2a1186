"""The alerts pages: /alerts/ (a signed-in person's subscriptions: list, add, remove; and the
digests sent to them) and /alerts/unsubscribe/<token>/ (no sign-in: the token in the e-mail is
the permission).

The unsubscribe address is exempt from Django's CSRF middleware for one reason: RFC 8058's
one-click unsubscribe, which a mail provider POSTs (body `List-Unsubscribe=One-Click`) with no
cookie and no form token. The token in the address is 256 random bits that only the recipient's
mail holds, so a forged request cannot name it. Every other POST there (the button on the page)
is still checked against the CSRF cookie the GET page set, by the middleware's own check.

Pages here are per person and change with every subscription: they carry `Cache-Control:
no-store` and their own ETag, so the portal's cache (uptake.web.caching) never keeps or revalidates them.
"""

from __future__ import annotations

import hashlib
import re
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt

from ...errors import UptakeError
from .forms import SubscriptionForm
from .models import Digest, Recipient, Subscription
from .targets import KIND_NAMES, choices, describe

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def _private(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming:
            response["Cache-Control"] = "no-store"
            response["ETag"] = '"a-' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
        return response
    return wrapper


def _rows(user) -> list[dict]:
    return [{"sub": s, "label": describe(s.kind, s.target), "kind": KIND_NAMES[s.kind]}
            for s in Subscription.objects.filter(user=user).order_by("kind", "target")]


@login_required
@_private
def mine(request):
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            try:
                pk = int(request.POST.get("id", ""))
            except ValueError:
                raise Http404 from None
            sub = Subscription.objects.filter(pk=pk, user=request.user).first()
            if sub is None:  # not theirs, or gone: the same answer either way
                raise Http404
            label = describe(sub.kind, sub.target)
            sub.delete()
            messages.success(request, f"You no longer follow {label}.")
            return redirect("alerts:mine")
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            target = form.cleaned_data["checked"]
            _, made = Subscription.objects.get_or_create(user=request.user, kind=target.kind, target=target.code)
            messages.success(request, f"You will get alerts for {target.label}." if made else
                             f"You already follow {target.label}.")
            return redirect("alerts:mine")
    else:
        kind = request.GET.get("kind")
        form = SubscriptionForm(initial={"kind": kind if kind in KIND_NAMES else Subscription.ORGANISATION,
                                         "target": (request.GET.get("target") or "")[:120]})
    try:
        suggestions = choices()
    except UptakeError:
        suggestions = {}
    return render(request, "alerts/mine.html", {
        "form": form, "rows": _rows(request.user), "suggestions": suggestions,
        "digests": list(Digest.objects.filter(user=request.user).order_by("-created_at", "-id")[:10])})


def _mask(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def _find(token: str):
    """(what the token stops, its subscriptions, the Recipient or None), or None for an unknown token."""
    if not TOKEN.fullmatch(token):
        return None
    sub = Subscription.objects.select_related("user").filter(token=token).first()
    if sub is not None:
        return {"user": sub.user, "subscriptions": [sub], "all": False}
    recipient = Recipient.objects.select_related("user").filter(token=token).first()
    if recipient is not None:
        return {"user": recipient.user, "all": True,
                "subscriptions": list(Subscription.objects.filter(user=recipient.user).order_by("kind", "target"))}
    return None


@csrf_exempt
@_private
def unsubscribe(request, token: str):
    found = _find(token)
    if found is None:
        raise Http404
    labels = [describe(s.kind, s.target) for s in found["subscriptions"]]
    ctx = {"labels": labels, "all": found["all"], "email": _mask(found["user"].email), "token": token}
    if request.method in ("GET", "HEAD"):
        return render(request, "alerts/unsubscribe.html", ctx)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    one_click = request.POST.get("List-Unsubscribe") == "One-Click"
    if not one_click:
        refused = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
        if refused is not None:
            return refused
    Subscription.objects.filter(pk__in=[s.pk for s in found["subscriptions"]]).delete()
    if one_click:
        return HttpResponse(f"Unsubscribed: {len(labels)} alert subscription{'s' if len(labels) != 1 else ''} "
                            "stopped.\n", content_type="text/plain; charset=utf-8")
    return render(request, "alerts/unsubscribed.html", ctx)
