"""Who may do what on the knowledge portal's pages (and the joint working register's): sign in
first, moderators only, the author or a moderator. Shared by the apps' views, which never
import one another."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

from ..accounts.roles import is_member, is_moderator


def member_required(view):
    """Anyone not signed in is sent to sign in, and brought back."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_member(request.user):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)
    return wrapper


def moderator_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_member(request.user):
            return redirect_to_login(request.get_full_path())
        if not is_moderator(request.user):
            return render(request, "uptake/error.html", {"title": "Moderators only",
                                                         "message": "Only the portal's moderators can do this."},
                          status=403)
        return view(request, *args, **kwargs)
    return wrapper


def may_change(user, item) -> bool:
    """A moderator, or the member who wrote the item (a case study or a barrier)."""
    return is_moderator(user) or (is_member(user) and item.author_id == user.id)
