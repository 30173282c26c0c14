// The transport bar for a Player: reset, back, play/pause, forward, a scrubber over all
// steps, a speed menu and a "step i of n" counter, plus keyboard shortcuts
// (space: play/pause, arrows: step, Home/End: first/last) for the whole page.

import { h, isTypingTarget } from "../../dom.js";
import { SPEEDS } from "../../player.js";

export function createPlayerControls(player, { label = "Steps" } = {}) {
  const button = (text, testid, title, onClick) => h("button", { type: "button", class: "btn", title, dataset: { testid }, onClick }, text);
  const reset = button("⟲ Reset", "player-reset", "Back to the first step", () => player.reset());
  const back = button("◀ Back", "player-back", "Previous step (←)", () => player.stepBack());
  const play = button("▶ Play", "player-play", "Play or pause (space)", () => player.toggle());
  play.classList.add("btn-primary");
  const forward = button("Next ▶", "player-forward", "Next step (→)", () => player.stepForward());
  const scrubber = h("input", {
    type: "range",
    id: "player-scrubber",
    min: "0",
    max: "0",
    step: "1",
    value: "0",
    dataset: { testid: "player-scrubber" },
    aria: { label: `${label}: scrubber` },
    onInput: () => player.seek(Number(scrubber.value)),
  });
  const speed = h(
    "select",
    { id: "player-speed", dataset: { testid: "player-speed" }, onChange: () => player.setSpeed(Number(speed.value)) },
    SPEEDS.map((value) => h("option", { value: String(value), selected: value === player.speed }, `${value}×/s`)),
  );
  const counter = h("output", { class: "player-counter", dataset: { testid: "player-counter" }, aria: { live: "polite" } });

  const root = h(
    "div",
    { class: "player", role: "group", aria: { label: `${label} player` } },
    h("div", { class: "player-buttons" }, reset, back, play, forward),
    h("div", { class: "player-track" }, h("label", { htmlFor: "player-scrubber", class: "sr-only" }, "Step"), scrubber, counter),
    h("div", { class: "player-speed" }, h("label", { htmlFor: "player-speed" }, "Speed"), speed),
  );

  function update({ index, count, playing }) {
    play.textContent = playing ? "❚❚ Pause" : "▶ Play";
    play.setAttribute("aria-pressed", String(playing));
    scrubber.max = String(Math.max(0, count - 1));
    scrubber.value = String(index);
    scrubber.disabled = count <= 1;
    back.disabled = index <= 0;
    forward.disabled = index >= count - 1;
    play.disabled = count <= 1;
    counter.textContent = count ? `Step ${index + 1} of ${count}` : "No steps";
  }
  player.subscribe(update);
  update({ index: player.index, count: player.count, playing: player.playing });
  return { root };
}

/** Space, arrows, Home and End drive `player` unless a text field or control has focus. */
export function bindPlayerKeys(player, target = document) {
  target.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || isTypingTarget(event.target)) return;
    const onButton = event.target instanceof HTMLButtonElement;
    switch (event.key) {
      case " ":
        if (onButton) return; // a focused button handles space itself
        event.preventDefault();
        player.toggle();
        break;
      case "ArrowRight":
        event.preventDefault();
        player.stepForward();
        break;
      case "ArrowLeft":
        event.preventDefault();
        player.stepBack();
        break;
      case "Home":
        event.preventDefault();
        player.seek(0);
        break;
      case "End":
        event.preventDefault();
        player.seek(player.count - 1);
        break;
      default:
    }
  });
}
