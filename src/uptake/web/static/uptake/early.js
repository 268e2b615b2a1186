// Before the page paints: say that JavaScript (and modern JavaScript) is available, as the NHS.UK
// frontend expects. A file, not an inline script, so the Content-Security-Policy can forbid those.
document.body.className += " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " nhsuk-frontend-supported" : "");
