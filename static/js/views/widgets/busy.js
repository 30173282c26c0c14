// A page's "busy" flag in a data attribute: "1" while work is waiting for its debounce or
// in flight, "0" when nothing is pending. Tests wait for "0", never for time.

/**
 * createBusy(node, key = "busy") -> {schedule(on), start(), end()}. schedule(true): work waits
 * for a debounce; start()/end(): one piece of work begins/ends (they nest).
 */
export function createBusy(node, key = "busy") {
  let scheduled = false;
  let inFlight = 0;
  const show = () => {
    node.dataset[key] = scheduled || inFlight ? "1" : "0";
  };
  show();
  return {
    schedule(on) {
      scheduled = on;
      show();
    },
    start() {
      inFlight += 1;
      show();
    },
    end() {
      inFlight -= 1;
      show();
    },
  };
}
