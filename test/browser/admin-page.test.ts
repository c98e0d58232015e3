/**
 * The admin page in a real headless Chromium (Debian's `chromium`, driven by playwright-core): a saga
 * whose branch fails shows in the list, its page shows the branch's last answer, force-stop moves it
 * to failed and the list follows; without the token neither the page nor the admin API shows anything.
 * Each test saves a screenshot under test-output/browser.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { request } from "undici";
import { buildAdminPage } from "../../src/build/admin-page";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { submitStuckSaga } from "../support/stuck-saga";

const TOKEN = "browser-test-token-0123456789";
const CHROMIUM = process.env.DTX_TEST_CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = join(__dirname, "..", "..", "test-output", "browser");
let pageDir: string;
let dtx: TestCoordinator;
let rm: BranchServices;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: .ci/run installs Debian's chromium`);
  mkdirSync(SHOTS, { recursive: true });
  pageDir = mkdtempSync(join(tmpdir(), "dtx-admin-page-"));
  await buildAdminPage(pageDir);
  dtx = await TestCoordinator.start({ admin: { token: TOKEN } }, undefined, { adminPageDir: pageDir });
  rm = await BranchServices.start();
  await submitStuckSaga(dtx, rm, "page-stuck-1");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await rm?.close();
  await dtx?.close();
  rmSync(pageDir, { recursive: true, force: true });
});

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

test("without the token the page asks for one and shows nothing; the admin API refuses", async () => {
  const res = await page.goto(`${dtx.base}/`);
  expect(res?.status()).toBe(200);
  expect(page.url()).toBe(`${dtx.base}/admin/`);
  await page.waitForSelector("form.token");
  expect(await page.textContent("form.token p")).toContain("This coordinator needs an admin token");
  expect(await page.locator("table.transactions").count()).toBe(0);
  expect(await page.locator("[data-health=version]").count()).toBe(0);
  const api = await request(`${dtx.base}/v1/admin/transactions`);
  expect(api.statusCode).toBe(401);
  await api.body.dump();
  await shot("1-token-required");
}, 60_000);

test("a saga whose branch fails appears in the list; its page shows the branch's last answer", async () => {
  await page.fill("form.token input[name=token]", TOKEN);
  await page.click("form.token button");
  const row = page.locator("tr[data-gid=page-stuck-1]");
  await row.waitFor();
  expect(await row.locator("td.status").textContent()).toBe("submitted");
  expect(await row.locator("td.answer").textContent()).toContain("02 action: ERROR 500 bank is down");
  expect(await page.textContent("[data-health=version]")).toContain("v");
  expect(await page.textContent("[data-health=unfinished]")).toContain("1");
  await shot("2-list");

  await row.locator("a").click();
  const branch = page.locator("tr[data-branch='02-action']");
  await branch.waitFor();
  expect(await branch.locator("td.answer").textContent()).toBe("ERROR 500 bank is down");
  expect(await branch.locator("td").nth(3).textContent()).toBe("1");
  expect(await page.locator(".payload pre").first().textContent()).toBe(
    '{\n  "account": "alice",\n  "amount": 30\n}',
  );
  expect(await page.locator(".timeline li").count()).toBeGreaterThanOrEqual(4);
  await shot("3-transaction");
}, 60_000);

test("force-stop asks first, moves the saga to failed in place, and the list updates", async () => {
  page.once("dialog", (dialog) => void dialog.accept());
  await page.click("button[name=force-stop]");
  await page.waitForSelector("text=Force-stopped: failed (force stopped by operator admin)");
  await page.waitForSelector("[data-field=status]:text-is('failed')");
  expect(await page.textContent("[data-field=reason]")).toBe("force stopped by operator admin");
  expect(await dtx.status("page-stuck-1")).toBe("failed");
  await page.waitForSelector("[data-health=unfinished] b:text-is('0')");
  await shot("4-force-stopped");

  await page.click("header nav a[href='#/']");
  await page.waitForSelector("tr[data-gid=page-stuck-1] td.status:text-is('failed')");
  await page.setViewportSize({ width: 390, height: 844 });
  // nothing wider than the phone: the page itself never scrolls sideways (tables scroll in their box)
  expect(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")).toBe(true);
  await shot("5-list-phone");
}, 60_000);
