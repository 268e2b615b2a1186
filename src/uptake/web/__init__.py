"""The portal: the innovation scorecard on the web (Django pages, a django-ninja API) read from
the published scorecard tables (`uptake publish`), never from raw prescribing."""
