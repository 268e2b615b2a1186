"""The WSGI application for gunicorn: `gunicorn uptake.web.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptake.web.settings")
application = get_wsgi_application()
