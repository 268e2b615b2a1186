"""Formulary decisions (the portal's database is where they are kept and edited) and the pages
and API of NICE's compliance regime; the rules themselves are in uptake.services.compliance."""
