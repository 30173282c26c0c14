// A "Copy" button for a block of code. Uses the async clipboard; when that is refused
// (no permission, insecure context) it selects the text and says to press Ctrl+C.

import { h } from "../../dom.js";

/** createCopyButton({getText, target, testid, label}) -> {root} (button + status). */
export function createCopyButton({ getText, target, testid, label = "Copy" }) {
  const status = h("span", { class: "copy-status", role: "status", aria: { live: "polite" }, dataset: { testid: `${testid}-status` } });
  let timer = null;
  const say = (text, failed = false) => {
    status.textContent = text;
    status.classList.toggle("field-msg-error", failed);
    clearTimeout(timer);
    timer = setTimeout(() => {
      status.textContent = "";
    }, 4000);
  };
  const button = h(
    "button",
    {
      type: "button",
      class: "btn btn-small",
      dataset: { testid },
      onClick: async () => {
        const text = getText();
        try {
          if (!navigator.clipboard?.writeText) throw new Error("no clipboard");
          await navigator.clipboard.writeText(text);
          say("Copied.");
        } catch {
          if (target) {
            const range = document.createRange();
            range.selectNodeContents(target);
            const selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
          }
          say("The browser blocked the clipboard: the code is selected, press Ctrl+C (⌘C).", true);
        }
      },
    },
    label,
  );
  return { root: h("span", { class: "copy" }, button, status), button };
}
