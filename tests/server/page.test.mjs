// berth serve's page in a real browser: Debian's chromium driven by playwright-core (npm,
// fetched by scripts/install-deps test), from node's own test runner, against a real
// `berth serve` on loopback whose registry is filled by the real CLI and serve_fixture.
// Run by ctest (tests/CMakeLists.txt: server.page). Missing chromium or playwright-core:
// the tests skip, and fail under CI=true. Screenshots go to a temp dir; with
// BERTH_UPDATE_SCREENSHOTS=1 to docs/img/serve-*.png (then review them).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const berth = process.env.BERTH_BINARY;
const fixture = process.env.BERTH_SERVE_FIXTURE;
const pwDir = process.env.BERTH_PLAYWRIGHT_DIR || "";
const sourceDir = process.env.BERTH_SOURCE_DIR;
// A test run never writes into the checkout unless asked to.
const updateShots = process.env.BERTH_UPDATE_SCREENSHOTS === "1" && Boolean(sourceDir);
const shotDir = updateShots ? path.join(sourceDir, "docs", "img")
                            : fs.mkdtempSync(path.join(os.tmpdir(), "berth-page-shots-"));
const chromiumPath = "/usr/bin/chromium";
const token = "page-token-0123456789abcdef";

let missing = "";
if (!berth || !fixture) missing = "BERTH_BINARY and BERTH_SERVE_FIXTURE must be set (ctest sets them)";
else if (!fs.existsSync(chromiumPath)) missing = "chromium is missing: scripts/install-deps test installs it";
else if (!fs.existsSync(path.join(pwDir, "index.mjs"))) missing = `playwright-core is missing in ${pwDir}: scripts/install-deps test fetches it`;

// A missing peer skips on a developer's machine and fails under CI=true.
function needPeers(t) {
  if (!missing) return true;
  if (process.env.CI === "true") assert.fail("CI=true, and " + missing);
  t.skip(missing);
  return false;
}

let dir, db, server, url, browser, corpus;
const children = [];

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

// Starts berth serve and resolves with its URL once it says it listens (or rejects when it
// exits or stays silent past the deadline).
function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(berth, ["serve", "--db", db, "--listen", "127.0.0.1:0", "--token-file",
      path.join(dir, "token")], { stdio: ["ignore", "ignore", "pipe"] });
    children.push(child);
    let err = "";
    const timer = setTimeout(() => reject(new Error("berth serve said nothing in 20 s: " + err)), 20000);
    child.stderr.on("data", (d) => {
      err += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) { clearTimeout(timer); resolve({ child, url: m[1] }); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`berth serve exited (${code}): ${err}`)); });
  });
}

function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill("SIGKILL"), 20000);
    child.once("exit", () => { clearTimeout(kill); resolve(); });
    child.kill("SIGTERM");
  });
}

before(async () => {
  if (missing) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-page-"));
  db = path.join(dir, "registry.db");
  fs.writeFileSync(path.join(dir, "token"), token + "\n", { mode: 0o600 });
  run(berth, ["assign", "web", "--db", db]);
  run(berth, ["assign", "api", "--db", db, "--owner", "team-api"]);
  run(fixture, ["sqlite://" + db, "fleet", "3", "6"]);
  run(fixture, ["sqlite://" + db, "hostile"]);
  corpus = JSON.parse(run(fixture, ["corpus"]));
  ({ child: server, url } = await startServer());
  const { chromium } = await import(path.join(pwDir, "index.mjs"));
  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
});

after(async () => {
  if (browser) await browser.close();
  for (const c of children) await stopChild(c);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  if (!updateShots) fs.rmSync(shotDir, { recursive: true, force: true });
});

// A page that records dialogs, page errors and console errors, loaded and rendered once.
async function openPage() {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const seen = { dialogs: [], errors: [] };
  page.on("dialog", async (d) => { seen.dialogs.push(d.message()); await d.dismiss(); });
  page.on("pageerror", (e) => seen.errors.push("pageerror: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") seen.errors.push("console: " + m.text()); });
  await page.goto(url + "/");
  await page.waitForSelector("body[data-rendered]", { timeout: 20000 });
  return { page, seen };
}

function screenshot(page, name, options = {}) {
  const out = path.join(shotDir, `serve-${name}.png`);
  fs.mkdirSync(shotDir, { recursive: true });
  return page.screenshot({ path: out, ...options });
}

test("the hosts and their ports are shown", async (t) => {
  if (!needPeers(t)) return;
  const { page, seen } = await openPage();
  const hosts = await page.$$eval("#hosts tbody tr td.name", (tds) => tds.map((td) => td.textContent));
  for (const h of ["host-000", "host-001", "host-002", "hostile-host"]) assert.ok(hosts.includes(h), `${h} in ${hosts}`);
  const states = await page.$$eval("#hosts tbody tr", (trs) => trs.map((tr) => tr.children[1].textContent));
  assert.ok(states.every((s) => s === "up"), states.join(","));
  const ports = await page.$$eval("#listeners tbody tr", (trs) => trs.filter((tr) => tr.children[0].textContent === "host-001").map((tr) => tr.children[2].textContent + " " + tr.children[3].textContent));
  assert.ok(ports.includes("22 system"), ports.join(","));
  assert.ok(ports.includes("40123 ephemeral"), ports.join(","));
  assert.equal(await page.$eval("#bands", (c) => Number(c.dataset.hosts)), hosts.length);
  // Filters: host and port.
  await page.fill("#f-host", "host-001");
  await page.fill("#f-port", "40000-41000");
  const filtered = await page.$$eval("#listeners tbody tr", (trs) => trs.map((tr) => tr.children[0].textContent + ":" + tr.children[2].textContent));
  assert.deepEqual(filtered, ["host-001:40123"]);
  await page.fill("#f-host", "");
  await page.fill("#f-port", "");
  await screenshot(page, "overview", { fullPage: false });
  await (await page.$("#grid")).screenshot({ path: path.join(shotDir, "serve-grid.png") });
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test("a new finding appears live", async (t) => {
  if (!needPeers(t)) return;
  const { page, seen } = await openPage();
  const subject = "late (port 41234)";
  const before = await page.$$eval("#findings tbody tr", (trs) => trs.map((tr) => tr.children[3].textContent));
  assert.ok(!before.includes(subject));
  run(fixture, ["sqlite://" + db, "finding", "host-002", "41234"]);
  // The page is told by the event stream and re-reads: no reload.
  await page.waitForFunction((s) => [...document.querySelectorAll("#findings tbody tr")]
    .some((tr) => tr.children[3].textContent === s && tr.children[0].textContent === "host-002"), subject, { timeout: 20000 });
  await screenshot(page, "findings", { fullPage: false, clip: undefined });
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test("the claim action works with the token and is refused without it", async (t) => {
  if (!needPeers(t)) return;
  const { page, seen } = await openPage();
  const claim = async (name, tok) => {
    await page.fill("#c-group", "default");
    await page.fill("#c-name", name);
    await page.fill("#c-token", tok);
    await page.click("#claim button");
    await page.waitForFunction(() => ["ok", "error"].includes(document.querySelector("#claim-result").className), null, { timeout: 20000 });
    const r = await page.$eval("#claim-result", (p) => ({ cls: p.className, text: p.textContent }));
    await page.$eval("#claim-result", (p) => { p.className = ""; });
    return r;
  };
  let r = await claim("nope", "");
  assert.equal(r.cls, "error");
  assert.match(r.text, /401/);
  r = await claim("nope", "wrong-token-0123456789");
  assert.equal(r.cls, "error");
  assert.match(r.text, /403/);
  assert.notEqual(spawnSync(berth, ["show", "nope", "--db", db]).status, 0, "a refused claim wrote nothing");
  r = await claim("fromthepage", token);
  assert.equal(r.cls, "ok", r.text);
  const port = /has port (\d+)\/tcp/.exec(r.text)[1];
  const shown = run(berth, ["show", "fromthepage", "--db", db]);
  assert.ok(shown.includes(port), shown);
  // The claimed port is in the page's claims (it re-read after the write).
  await page.waitForFunction((p) => map && map.claims.some((c) => c.port === Number(p) && c.service === "fromthepage"), port, { timeout: 20000 });
  await screenshot(page, "claim", { fullPage: false });
  // The browser logs the refused requests themselves; nothing else may be logged.
  assert.deepEqual(seen.errors.filter((e) => !/status of 40[13] /.test(e)), []);
  await page.close();
});

test("hostile names render as text and run no script", async (t) => {
  if (!needPeers(t)) return;
  const { page, seen } = await openPage();
  // Host names from the corpus (serve_fixture names the last seven strings' hosts after them).
  const names = await page.$$eval("#hosts tbody tr td.name", (tds) => tds.map((td) => td.textContent));
  for (const h of corpus.slice(-7)) assert.ok(names.includes(h), `host ${JSON.stringify(h)} shown as text`);
  // Listener commands and finding texts from the whole corpus arrive as text too.
  await page.fill("#f-host", "hostile-host");
  const commands = await page.$$eval("#listeners tbody tr", (trs) => trs.map((tr) => tr.children[4].textContent));
  for (const c of corpus) {
    if (!/^[\x20-\x7e]*$/.test(c)) continue;  // control bytes and invalid UTF-8 are escaped or replaced on the way
    assert.ok(commands.some((x) => x.startsWith(c + " (pid")), `command ${JSON.stringify(c)} shown as text`);
  }
  // Nothing the data names became an element, and nothing ran.
  const injected = await page.evaluate(() => document.querySelectorAll("img, svg, iframe, script:not([src]), object, embed").length);
  assert.equal(injected, 0);
  assert.deepEqual(seen.dialogs, [], "no dialog may open");
  assert.deepEqual(seen.errors, [], "no console error (a CSP violation would be one)");
  assert.equal(fs.existsSync("/tmp/berth-serve-hostile-marker"), false);
  await screenshot(page, "hostile", { fullPage: false });
  await page.close();
});

test("the page runs under the server's CSP and fetches nothing from elsewhere", async (t) => {
  if (!needPeers(t)) return;
  const page = await browser.newPage();
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  const res = await page.goto(url + "/");
  const csp = res.headers()["content-security-policy"];
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  await page.waitForSelector("body[data-rendered]", { timeout: 20000 });
  // The event stream opens with an event of the generation the page shows: no second read.
  await page.waitForSelector("body[data-events]", { timeout: 20000 });
  assert.equal(await page.getAttribute("body", "data-reads"), "1");
  assert.equal(await page.getAttribute("body", "data-rendered"), "1");
  // An inline script is refused by that CSP: what an injected one would meet.
  const ran = await page.evaluate(() => {
    window.__ran = false;
    const s = document.createElement("script");
    s.textContent = "window.__ran = true";
    document.body.append(s);
    return window.__ran;
  });
  assert.equal(ran, false);
  for (const r of requests) assert.ok(r.startsWith(url + "/"), `fetched ${r}`);
  await page.close();
});

// Runs last: it adds a host that is down (the first test expects every host up).
test("long tables show their first rows, hosts that need a look first, and more on request", async (t) => {
  if (!needPeers(t)) return;
  run(fixture, ["sqlite://" + db, "down", "zz-down"]);
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  await page.goto(url + "/?rows=2");
  await page.waitForSelector("body[data-rendered]", { timeout: 20000 });
  const total = await page.evaluate(() => map.hosts.length);
  assert.ok(total > 4, `${total} hosts`);
  const hostRows = () => page.$$eval("#hosts tbody tr", (trs) => trs.map((tr) => tr.children[0].textContent + " " + tr.children[1].textContent));
  let rows = await hostRows();
  assert.equal(rows.length, 2);
  assert.equal(rows[0], "zz-down down", "a host that is down comes before those that are up, whatever its name");
  assert.equal(await page.textContent("#host-count"), `(2 of ${total})`);
  assert.equal(await page.$eval("#bands", (c) => Number(c.dataset.hosts)), 2, "the bands follow the table");
  await page.click("#more-hosts");
  assert.equal((await hostRows()).length, 4);
  while (await page.isVisible("#more-hosts")) await page.click("#more-hosts");
  rows = await hostRows();
  assert.equal(rows.length, total);
  assert.equal(new Set(rows).size, total, "every host once");
  assert.equal(await page.textContent("#host-count"), `(${total})`);
  assert.equal(await page.$eval("#bands", (c) => Number(c.dataset.hosts)), total);
  // Listeners and findings the same way; a new filter starts again at the first rows.
  for (const id of ["listeners", "findings"]) {
    assert.equal((await page.$$("#" + id + " tbody tr")).length, 2, id);
    await page.click("#more-" + id);
    assert.equal((await page.$$("#" + id + " tbody tr")).length, 4, id);
  }
  await page.fill("#f-host", "host-00");
  assert.equal((await page.$$("#listeners tbody tr")).length, 2);
  assert.equal((await hostRows()).length, 2);
  await page.close();
});
