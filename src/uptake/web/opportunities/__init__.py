"""The medicines optimisation opportunities on the portal: the national view, one opportunity
across ICBs, and an ICB's "choose your five" with the choices its editors record."""
