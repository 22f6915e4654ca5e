// The front-desk forms: after a refused form the cursor waits in the first field to fix; a category chosen
// through the search box refreshes the routing hint as a click would.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const first = document.querySelector("form [aria-invalid=true]");
  if (first) first.focus();
});
document.addEventListener("change", (event) => {
  if (event.target.name === "category" && event.isTrusted === false) {
    event.target.dispatchEvent(new Event("input", { bubbles: true }));
  }
});
