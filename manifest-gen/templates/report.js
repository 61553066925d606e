"use strict";
// Marks the page as scripted: the policy let this script, and only it, run.
document.documentElement.setAttribute("data-script", "ran");
document.querySelectorAll("button[data-open]").forEach(function (button) {
  button.addEventListener("click", function () {
    var open = button.getAttribute("data-open") === "1";
    document.querySelectorAll("details.diff").forEach(function (d) {
      d.open = open;
    });
  });
});
