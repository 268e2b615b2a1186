from django.contrib.auth import views as auth
from django.urls import path

from . import views
from .forms import SignInForm

urlpatterns = [
    path("sign-in/", auth.LoginView.as_view(template_name="accounts/login.html", authentication_form=SignInForm), name="login"),
    path("sign-out/", auth.LogoutView.as_view(), name="logout"),
    path("register/", views.register_view, name="register"),
    path("confirm/<str:uidb64>/<str:token>/", views.confirm_view, name="confirm"),
    path("", views.account_view, name="account"),
    path("password-reset/", auth.PasswordResetView.as_view(
        template_name="accounts/password_reset.html", email_template_name="accounts/email/password_reset.txt",
        subject_template_name="accounts/email/password_reset_subject.txt"), name="password_reset"),
    path("password-reset/sent/", auth.PasswordResetDoneView.as_view(template_name="accounts/password_reset_sent.html"),
         name="password_reset_done"),
    path("password-reset/<str:uidb64>/<str:token>/", auth.PasswordResetConfirmView.as_view(
        template_name="accounts/password_reset_confirm.html"), name="password_reset_confirm"),
    path("password-reset/done/", auth.PasswordResetCompleteView.as_view(
        template_name="accounts/password_reset_done.html"), name="password_reset_complete"),
]
