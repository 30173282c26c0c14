// Starts Swagger UI on /docs from the app's own copy (no CDN, no inline script).
/* global SwaggerUIBundle */

// Lecture mode (?lecture=1, see lecture.js on the app's pages): large type, a one-line bar,
// and the bar's links keep the mode.
if (new URLSearchParams(window.location.search).get("lecture") === "1") {
  document.documentElement.classList.add("lecture");
  for (const a of document.querySelectorAll(".docs-bar a[href^='/']")) {
    const url = new URL(a.getAttribute("href"), window.location.origin);
    url.searchParams.set("lecture", "1");
    a.setAttribute("href", `${url.pathname}${url.search}`);
  }
}

SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  defaultModelsExpandDepth: 0,
  tryItOutEnabled: true,
  validatorUrl: null, // no badge request to an online validator
});
