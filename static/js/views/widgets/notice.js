// A message area for errors and refusals (role=alert), one per view.

import { h, replaceChildren } from "../../dom.js";

export function createNotice(node) {
  node.setAttribute("role", "alert");
  node.hidden = true;
  return {
    error(message) {
      node.className = "notice notice-error";
      replaceChildren(node, h("span", { class: "notice-icon", aria: { hidden: "true" } }, "⚠"), message);
      node.hidden = false;
    },
    info(message) {
      node.className = "notice notice-info";
      replaceChildren(node, message);
      node.hidden = false;
    },
    clear() {
      node.hidden = true;
      replaceChildren(node);
    },
  };
}
