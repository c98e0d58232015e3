import { TargetPolicy } from "../../src/core/target-policy";

describe("TargetPolicy", () => {
  const policy = new TargetPolicy([
    "bank",
    "*.svc.cluster.local",
    "10.0.0.0/8",
    "api.example.com:8443",
    "fd00::/8",
  ]);

  test.each([
    ["http://bank/api/TransOut", true],
    ["http://BANK:8081/api/TransOut", true],
    ["http://orders.shop.svc.cluster.local/x", true],
    ["http://svc.cluster.local/x", false],
    ["http://10.1.2.3:8080/x", true],
    ["http://11.1.2.3/x", false],
    ["https://api.example.com:8443/x", true],
    ["https://api.example.com/x", false],
    ["http://[fd00::1]:80/x", true],
    ["http://169.254.169.254/latest/meta-data", false],
    ["http://bank.evil.com/x", false],
    ["bank:50051/bank.Bank/TransOut", true],
    ["10.0.0.9:50051/bank.Bank/TransOut", true],
    ["internal:50051/bank.Bank/TransOut", false],
  ])("%s → %p", (url, allowed) => {
    expect(policy.allows(url)).toBe(allowed);
  });

  test("an empty policy allows any host, as dtm does", () => {
    expect(new TargetPolicy([]).allows("http://169.254.169.254/")).toBe(true);
  });

  test("a refused URL is bad input naming the field and the URL", () => {
    expect(() => policy.check("http://internal/admin", ["steps", 0, "action"])).toThrow(
      'steps[0].action: "http://internal/admin" is not an allowed branch target (branch.allowedTargets: ' +
        "bank, *.svc.cluster.local, 10.0.0.0/8, api.example.com:8443, fd00::/8)",
    );
  });
});
