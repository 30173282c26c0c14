// Lecture mode: one switch in the header, kept in the URL as ?lecture=1 and carried across
// the app's links. It sets <html class="lecture"> (large type, compact header, page intros
// shortened, settings collapsed behind a button: static/css/app.css), scales canvas text,
// fits the page's main figure (<body data-lecture-main>, from the page table in
// app/pages.py) on the first screen, and gives the one-line navigation scroll buttons.

import { h } from "./dom.js";
import { setTextScale } from "./render/text.js";

const PARAM = "lecture";
const TEXT_SCALE = 1.35;
const MIN_FIT = 0.6; // a main figure is never drawn smaller than this to fit the screen

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
  return [...document.querySelectorAll(".site-header a[href^='/'], .site-footer a[href^='/']")].filter((a) => !/^\/(redoc|api)\b/.test(a.getAttribute("href")));
}

function apply(on) {
  document.documentElement.classList.toggle("lecture", on);
  setTextScale(on ? TEXT_SCALE : 1);
  for (const a of appLinks()) a.setAttribute("href", withLecture(a.getAttribute("href"), on));
  for (const panel of document.querySelectorAll(COLLAPSED)) collapse(panel, on);
  navScroller(on);
  fitter(on);
}

/** What lecture mode collapses: the settings panels, and blocks of settings inside a panel. */
const COLLAPSED = ".panel.settings, [data-lecture-collapse]";

/** In lecture mode a settings panel (or block) shows only its title and a button that opens it. */
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
  const heading = panel.querySelector(":scope > h2");
  if (heading) heading.after(button);
  else panel.prepend(button);
}

// ---- the navigation on one line: scroll buttons say there is more ---------------------------
let navState = null;

function navScroller(on) {
  const nav = document.querySelector(".site-header .nav");
  const list = nav?.querySelector(".nav-links");
  if (!list) return;
  if (!navState) {
    const arrow = (dir, label) =>
      h(
        "button",
        {
          type: "button",
          class: `nav-more nav-more-${dir}`,
          dataset: { testid: `nav-more-${dir}` },
          aria: { label },
          hidden: true,
          onClick: () => list.scrollBy({ left: (dir === "end" ? 0.7 : -0.7) * list.clientWidth, behavior: "smooth" }),
        },
        dir === "end" ? "›" : "‹",
      );
    const before = arrow("start", "Show the earlier pages");
    const after = arrow("end", "Show more pages");
    list.before(before);
    list.after(after);
    const update = () => {
      const on = document.documentElement.classList.contains("lecture");
      const more = list.scrollWidth - list.clientWidth;
      before.hidden = !on || list.scrollLeft <= 1;
      after.hidden = !on || list.scrollLeft >= more - 1;
      nav.dataset.more = [before.hidden ? "" : "start", after.hidden ? "" : "end"].filter(Boolean).join(" ");
    };
    list.addEventListener("scroll", update, { passive: true });
    window.addEventListener("resize", update);
    navState = { list, update };
  }
  navState.update();
  if (!on) return;
  // The current page's link in view, once the buttons and the page's styles take their room.
  const center = () => {
    navState.list.querySelector("[aria-current='page']")?.scrollIntoView({ block: "nearest", inline: "center" });
    navState.update();
  };
  center();
  if (document.readyState !== "complete") window.addEventListener("load", center, { once: true });
}

// ---- the main figure on the first screen -------------------------------------------------------
let fitObserver = null;
let fitSoon = null;

/** Shrink the page's main figure (CSS zoom, never below MIN_FIT) when it runs past the screen. */
function fitMain() {
  const main = mainFigure();
  if (!main) return;
  const lecture = document.documentElement.classList.contains("lecture");
  const was = main.style.zoom;
  main.style.zoom = "";
  if (!lecture) return;
  const box = main.getBoundingClientRect();
  const room = window.innerHeight - (box.top + window.scrollY) - 6;
  const zoom = box.height > room && room > 0 ? Math.max(MIN_FIT, room / box.height) : 1;
  const next = zoom < 1 ? zoom.toFixed(3) : "";
  main.style.zoom = next;
  if (next !== was) main.dataset.lectureZoom = next || "1";
}

function mainFigure() {
  const selector = document.body.dataset.lectureMain;
  return selector ? document.querySelector(selector) : null;
}

function fitter(on) {
  if (!on) {
    fitObserver?.disconnect();
    fitObserver = null;
    fitMain();
    return;
  }
  if (fitObserver) return;
  if (!fitSoon) {
    let frame = 0;
    fitSoon = () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(fitMain);
    };
    window.addEventListener("resize", () => fitObserver && fitSoon());
  }
  // The figure is filled by the view after it mounts, and redrawn as settings change; the
  // zoom this module writes on the figure itself is no reason to measure again.
  fitObserver = new MutationObserver((records) => {
    const main = mainFigure();
    if (records.some((r) => !(r.target === main && r.type === "attributes"))) fitSoon();
  });
  fitObserver.observe(document.getElementById("main"), {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ["width", "height", "style", "hidden", "class"],
  });
  fitSoon();
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
