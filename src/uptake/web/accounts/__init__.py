"""Accounts and roles: who may change what. A minimal role model (organisation editors) that the
knowledge portal extends with members and moderators."""
