"""E-mail alerts on the portal: subscriptions (pages, API, admin), the unsubscribe links, and the
send log. The rules and the digests themselves are in `uptake.alerts`."""
