// The repeatable rows of a key case's plan of nodes (work/_keycases.html): "Add a node" adds a row from the
// template, "Remove this node" takes one away, focus goes to what the person works on next. Without JavaScript the
// form keeps its blank rows and works the same. Handlers live here, never in on...= attributes (the CSP).
"use strict";

document.querySelectorAll("[data-nodes-input]").forEach((box) => {
  const template = box.querySelector("template[data-node-template]");
  const add = box.querySelector("button[data-add-node]");
  if (!template || !add) return;
  let next = box.querySelectorAll("[data-node-row]").length;

  const renumber = () => {
    box.querySelectorAll(":scope > [data-node-row]").forEach((row, i) => {
      const number = row.querySelector("[data-row-number]");
      if (number) number.textContent = String(i + 1);
    });
  };
  const wire = (row) => {
    const remove = row.querySelector("button[data-remove-node]");
    if (!remove) return;
    remove.hidden = false;
    remove.addEventListener("click", () => {
      const after = row.nextElementSibling && row.nextElementSibling.matches("[data-node-row]") ? row.nextElementSibling : null;
      row.remove();
      renumber();
      (after ? after.querySelector("input[type=text]") : add).focus();
    });
  };

  box.querySelectorAll(":scope > [data-node-row]").forEach(wire);
  add.hidden = false;
  add.addEventListener("click", () => {
    const html = template.innerHTML.replaceAll("-999-", `-${next}-`);
    next += 1;
    add.insertAdjacentHTML("beforebegin", html);
    const row = add.previousElementSibling;
    wire(row);
    renumber();
    row.querySelector("input[type=text]").focus();
  });
  // Enter in a row's field must not send the whole plan half-typed: it moves to the next field instead.
  box.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.ctrlKey || event.metaKey) return;
    if (!event.target.matches("input")) return;
    event.preventDefault();
    const fields = Array.from(box.querySelectorAll("input:not([type=hidden]), select, button:not([hidden])"));
    const i = fields.indexOf(event.target);
    if (i >= 0 && fields[i + 1]) fields[i + 1].focus();
  });
});
