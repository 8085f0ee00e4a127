// The New session form: making a session takes a few seconds (its length is
// measured with the voice), so say so, and do not send it twice.
"use strict";
(() => {
  const form = document.getElementById("new-session");
  const button = document.getElementById("make");
  const status = document.getElementById("making");
  form.addEventListener("submit", (event) => {
    if (button.getAttribute("aria-busy") === "true") {
      event.preventDefault();
      return;
    }
    button.setAttribute("aria-busy", "true");
    status.textContent = "Making your session; it opens in a moment.";
  });
})();
