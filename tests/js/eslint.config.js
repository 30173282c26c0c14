// ESLint for ConvScope's browser code (static/js) and these tests. Run from the
// repository root: make lint (eslint --config tests/js/eslint.config.js static/js tests/js).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["tests/js/node_modules/**"] },
  js.configs.recommended,
  {
    files: ["static/js/**/*.js"],
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: globals.browser },
  },
  {
    files: ["tests/js/**/*.js"],
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: globals.node },
  },
  {
    rules: {
      "no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
];
