// Draws every chart on the page: each .uptake-chart names the <script type="application/json">
// that holds its Vega-Lite spec (built on the server by uptake.charts). A mark with an href
// encoding (a funnel point, a map area) opens that organisation's page; vega-embed's actions menu
// offers the chart as SVG/PNG.
(function () {
  function draw() {
    document.querySelectorAll(".uptake-chart").forEach(function (el) {
      var source = document.getElementById(el.dataset.specId);
      if (!source || typeof vegaEmbed === "undefined") return;
      var spec = JSON.parse(source.textContent);
      // Vega's expression interpreter instead of eval (the Content-Security-Policy forbids eval)
      var csp = window.vegaExpressionInterpreter ? { ast: true, expr: window.vegaExpressionInterpreter } : {};
      vegaEmbed(el, spec, Object.assign(csp, { renderer: "svg", actions: { export: true, source: false, compiled: false, editor: false },
                            tooltip: { theme: "light" } }))
        .then(function (result) {
          el.dataset.rendered = "true";
          var svg = el.querySelector("svg");
          if (svg && spec.description) { svg.setAttribute("aria-label", spec.description); svg.setAttribute("role", "img"); }
          var menu = el.querySelector("details > summary");  // vega-embed's actions menu: an icon alone
          if (menu) { menu.setAttribute("aria-label", "Save this chart as SVG or PNG"); }
        })
        .catch(function (error) { el.dataset.rendered = "error"; el.textContent = "The chart could not be drawn: " + error; });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
