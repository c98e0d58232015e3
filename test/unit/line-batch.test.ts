import { LineBatch } from "../../src/server/line-batch";

test("lines written within 20 ms are handed over together, in order, once", async () => {
  const sent: string[] = [];
  const batch = new LineBatch((lines) => sent.push(lines));
  batch.write('{"n":1}\n');
  batch.write('{"n":2}\n');
  expect(sent).toEqual([]);
  await new Promise((r) => setTimeout(r, 40));
  expect(sent).toEqual(['{"n":1}\n{"n":2}\n']);
  batch.write('{"n":3}\n');
  batch.flush();
  batch.flush();
  expect(sent).toEqual(['{"n":1}\n{"n":2}\n', '{"n":3}\n']);
  await new Promise((r) => setTimeout(r, 40));
  expect(sent).toHaveLength(2);
});

test("64 KiB of lines are handed over at once, without waiting", () => {
  const sent: string[] = [];
  const batch = new LineBatch((lines) => sent.push(lines));
  const line = "x".repeat(1023) + "\n";
  for (let i = 0; i < 64; i++) batch.write(line);
  expect(sent).toHaveLength(1);
  expect(sent[0]).toHaveLength(64 * 1024);
  batch.flush();
  expect(sent).toHaveLength(1);
});
