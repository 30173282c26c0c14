// Entry point of every page: mount the view that <body data-page> names.

const VIEWS = {
  playground: () => import("./views/playground.js"),
  step: () => import("./views/step.js"),
  pooling: () => import("./views/pooling.js"),
  network: () => import("./views/network.js"),
  arithmetic: () => import("./views/arithmetic.js"),
  activations: () => import("./views/activations.js"),
  learn: () => import("./views/learn.js"),
  classify: () => import("./views/classify.js"),
};

async function start() {
  const page = document.body.dataset.page;
  const load = VIEWS[page];
  if (!load) return;
  const view = await load();
  view.mount(document.getElementById("main"));
}

start();
