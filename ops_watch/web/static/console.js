// ops-watch console: small progressive enhancements, no inline scripts (the CSP forbids them).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Filters: changing a select applies the filter at once (the button still works without JS).
  document.querySelectorAll("form.filters select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // Forms that end a silence ask first.
  document.querySelectorAll("form.inline").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = form.querySelector("button");
      if (button && !window.confirm(button.textContent + "?")) { event.preventDefault(); }
    });
  });
});
