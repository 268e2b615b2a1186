"""Reports: the ICB report and England's, built once as a `model.Report` and written as HTML or
PDF; charts are the portal's Vega-Lite specs (`uptake.charts`) drawn on the server by
`images`."""
