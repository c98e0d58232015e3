import { fieldErrorOf } from "../../src/core/errors";
import { bool, headers, stepsOf, str, stringArray } from "../../src/api/dtm-fields";

/** The problem an InvalidField reports (what follows the field's name in the 400 answer). */
function problemOf(read: () => unknown): string {
  try {
    read();
  } catch (err) {
    const field = fieldErrorOf(err);
    if (field !== null) return field.problem;
    throw err;
  }
  throw new Error("no error");
}

test("a value of the wrong type is named with its article: an object, an array, a number, null", () => {
  expect(problemOf(() => stepsOf({}))).toBe("must be an array of objects, not an object");
  expect(problemOf(() => str({ gid: { id: 1 } }, "gid"))).toBe("must be a string, not an object");
  expect(problemOf(() => str({ gid: ["g"] }, "gid"))).toBe("must be a string, not an array");
  expect(problemOf(() => str({ gid: 5 }, "gid"))).toBe("must be a string, not a number");
  expect(problemOf(() => bool({ wait_result: "yes" }, "wait_result"))).toBe(
    "must be a boolean, not a string",
  );
  expect(problemOf(() => stringArray({ payloads: {} }, "payloads"))).toBe(
    "must be an array of strings, not an object",
  );
  expect(problemOf(() => headers({ a: null }))).toBe("must be a string, not null");
});
