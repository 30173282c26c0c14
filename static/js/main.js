// Entry point of every page: mount the view module that <body data-page> names
// (static/js/views/<page>.js). The page list lives in app/pages.py alone.

import { startLecture } from "./lecture.js";

async function start() {
  startLecture();
  const page = document.body.dataset.page;
  if (!page || !/^[a-z][a-z0-9_-]*$/.test(page)) return;
  const view = await import(`./views/${page}.js`);
  view.mount(document.getElementById("main"));
}

start();
