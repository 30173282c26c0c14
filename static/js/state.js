// One plain state object per page, with subscribe/set, mirrored in the URL query so a
// link restores the view. Each key has a field codec: parse(string) -> value | undefined
// (undefined: ignore a bad URL value and keep the default), format(value) -> string.

export const field = {
  int(defaultValue, { min = -Infinity, max = Infinity } = {}) {
    return {
      default: defaultValue,
      parse(text) {
        if (!/^-?\d+$/.test(text)) return undefined;
        const value = Number(text);
        return value >= min && value <= max ? value : undefined;
      },
      format: String,
    };
  },
  number(defaultValue) {
    return {
      default: defaultValue,
      parse(text) {
        const value = Number(text);
        return text.trim() !== "" && Number.isFinite(value) ? value : undefined;
      },
      format: String,
    };
  },
  choice(defaultValue, options) {
    return {
      default: defaultValue,
      parse: (text) => (options.includes(text) ? text : undefined),
      format: String,
    };
  },
  text(defaultValue, { pattern = /^[\w-]{1,64}$/ } = {}) {
    return {
      default: defaultValue,
      parse: (text) => (pattern.test(text) ? text : undefined),
      format: String,
    };
  },
  bool(defaultValue) {
    return {
      default: defaultValue,
      parse: (text) => (text === "1" || text === "true" ? true : text === "0" || text === "false" ? false : undefined),
      format: (value) => (value ? "1" : "0"),
    };
  },
  /** A 2-D matrix "1,0,-1;2,0,-2" or a 3-D stack of them joined by "|". */
  matrix(defaultValue, { depth = 2 } = {}) {
    return { default: defaultValue, parse: (text) => parseMatrix(text, depth), format: formatMatrix };
  },
};

/** "1,2;3,4" -> [[1,2],[3,4]]; with depth 3, "a|b" -> [a, b]; undefined if ragged or bad. */
export function parseMatrix(text, depth = 2) {
  if (depth === 3) {
    const channels = text.split("|").map((part) => parseMatrix(part, 2));
    if (channels.some((m) => m === undefined)) return undefined;
    const [rows, cols] = [channels[0].length, channels[0][0].length];
    if (channels.some((m) => m.length !== rows || m[0].length !== cols)) return undefined;
    return channels;
  }
  const rows = text.split(";").map((row) => row.split(",").map((cell) => cell.trim()));
  const width = rows[0].length;
  if (rows.some((row) => row.length !== width)) return undefined;
  const matrix = rows.map((row) => row.map((cell) => (cell === "" ? NaN : Number(cell))));
  if (matrix.flat().some((value) => !Number.isFinite(value))) return undefined;
  return matrix;
}

export function formatMatrix(matrix) {
  if (Array.isArray(matrix[0]?.[0])) return matrix.map(formatMatrix).join("|");
  return matrix.map((row) => row.join(",")).join(";");
}

function same(a, b) {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Create a store for `schema` ({key: field}). The initial state is the defaults,
 * overridden by valid values in `location.search`. `set(patch)` merges, rewrites the URL
 * (only keys that differ from their default) and calls subscribers with (state, changed).
 */
export function createStore(schema, { search = window.location.search, syncUrl = true } = {}) {
  const state = {};
  const query = new URLSearchParams(search);
  for (const [key, spec] of Object.entries(schema)) {
    const raw = query.get(key);
    const parsed = raw === null ? undefined : spec.parse(raw);
    state[key] = parsed === undefined ? structuredClone(spec.default) : parsed;
  }
  const listeners = new Set();

  function toQuery() {
    const params = new URLSearchParams();
    for (const [key, spec] of Object.entries(schema)) {
      if (!same(state[key], spec.default)) params.set(key, spec.format(state[key]));
    }
    return params.toString();
  }

  function writeUrl() {
    if (!syncUrl) return;
    // Keys this store does not own (lecture=1) stay as they are.
    const params = new URLSearchParams(window.location.search);
    for (const key of Object.keys(schema)) params.delete(key);
    for (const [key, value] of new URLSearchParams(toQuery())) params.set(key, value);
    const text = params.toString();
    const url = `${window.location.pathname}${text ? `?${text}` : ""}${window.location.hash}`;
    if (url !== `${window.location.pathname}${window.location.search}${window.location.hash}`) {
      window.history.replaceState(null, "", url);
    }
  }

  return {
    state,
    get: () => state,
    set(patch) {
      const changed = [];
      for (const [key, value] of Object.entries(patch)) {
        if (!(key in schema)) throw new Error(`unknown state key ${key}`);
        if (!same(state[key], value)) {
          state[key] = value;
          changed.push(key);
        }
      }
      if (!changed.length) return changed;
      writeUrl();
      for (const listener of listeners) listener(state, new Set(changed));
      return changed;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    toQuery,
    writeUrl,
  };
}
