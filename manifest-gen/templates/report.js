"use strict";
document.querySelectorAll("button[data-open]").forEach(function (button) {
  button.addEventListener("click", function () {
    var open = button.getAttribute("data-open") === "1";
    document.querySelectorAll("details.diff").forEach(function (d) {
      d.open = open;
    });
  });
});
