"""Use cases shared by the CLI, the web and the reports. No SQL or HTTP here."""
