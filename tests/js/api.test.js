import assert from "node:assert/strict";
import { test } from "node:test";

import { describeDetail } from "../../static/js/api.js";

test("describeDetail says each field once: the server's msg already names it", () => {
  const detail = [
    { loc: ["body", "params.layers[3].input"], msg: "params.layers[3].input: layer 4 (linear): Linear (dense) needs a vector", type: "value_error" },
    { loc: ["body", "stride"], msg: "stride: Input should be greater than or equal to 1", type: "greater_than_equal" },
  ];
  assert.equal(
    describeDetail(detail),
    "params.layers[3].input: layer 4 (linear): Linear (dense) needs a vector; stride: Input should be greater than or equal to 1",
  );
  assert.equal(describeDetail("image: not a supported image"), "image: not a supported image");
});
