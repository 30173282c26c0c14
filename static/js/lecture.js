// Lecture mode: one switch in the header, kept in the URL as ?lecture=1 and carried across
// the app's links. It sets <html class="lecture"> (large type, compact header, page intros
// shortened, settings collapsed behind a button: static/css/app.css) and scales canvas text.

import { h } from "./dom.js";
import { setTextScale } from "./render/text.js";

const PARAM = "lecture";
const TEXT_SCALE = 1.35;

/** True when the URL asks for lecture mode. */
export function lectureOn(search = window.location.search) {
  return new URLSearchParams(search).get(PARAM) === "1";
}

/** `href` (an app path) with ?lecture=1 added or removed. */
export function withLecture(href, on) {
  const url = new URL(href, window.location.origin);
  if (on) url.searchParams.set(PARAM, "1");
  else url.searchParams.delete(PARAM);
  return `${url.pathname}${url.search}${url.hash}`;
}

function appLinks() {
  return [...document.querySelectorAll(".site-header a[href^='/'], .site-footer a[href^='/']")].filter(
    (a) => !/^\/(docs|redoc|api)\b/.test(a.getAttribute("href")),
  );
}

function apply(on) {
  document.documentElement.classList.toggle("lecture", on);
  setTextScale(on ? TEXT_SCALE : 1);
  for (const a of appLinks()) a.setAttribute("href", withLecture(a.getAttribute("href"), on));
  for (const panel of document.querySelectorAll(".panel.settings")) collapse(panel, on);
}

/** In lecture mode a settings panel shows only its title and a button that opens it. */
function collapse(panel, on) {
  let button = panel.querySelector(":scope > .lecture-expand");
  if (!on) {
    panel.removeAttribute("data-collapsed");
    button?.remove();
    return;
  }
  panel.dataset.collapsed = "true";
  if (button) return;
  button = h(
    "button",
    {
      type: "button",
      class: "btn lecture-expand",
      dataset: { testid: "lecture-expand" },
      aria: { expanded: "false" },
      onClick: () => {
        const open = panel.dataset.collapsed === "true";
        panel.dataset.collapsed = open ? "false" : "true";
        button.setAttribute("aria-expanded", String(open));
        button.textContent = open ? "Hide the settings" : "Show the settings";
      },
    },
    "Show the settings",
  );
  panel.querySelector(":scope > h2")?.after(button);
}

/** Read the URL, wire the header switch; call before the view mounts. */
export function startLecture() {
  const on = lectureOn();
  const button = document.querySelector("[data-testid='lecture-switch']");
  apply(on);
  if (!button) return;
  button.hidden = false;
  button.setAttribute("aria-pressed", String(on));
  button.addEventListener("click", () => {
    const next = !lectureOn();
    window.history.replaceState(null, "", withLecture(window.location.href, next));
    button.setAttribute("aria-pressed", String(next));
    apply(next);
    window.dispatchEvent(new Event("resize")); // views redraw their canvases at the new scale
  });
}
