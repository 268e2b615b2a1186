"""E-mail alerts: the rules (rules.py), one digest per person (digest.py) and sending them with a
send log that makes re-runs send nothing twice (send.py). Subscriptions and the log live in the
portal's database (uptake.web.alerts); `uptake alerts send` runs it. See docs/alerts.md."""
