from django.contrib.auth import views as auth
from django.urls import path

urlpatterns = [
    path("sign-in/", auth.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("sign-out/", auth.LogoutView.as_view(), name="logout"),
]
