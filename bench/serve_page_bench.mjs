// The page's first full render (docs/benchmarks.md, "berth serve"): from navigation to the
// page marking itself rendered (body[data-rendered]: the map fetched, hosts, bands, grid,
// listeners, findings drawn), in Debian's chromium, median and worst of 5 fresh loads.
// Usage: node serve_page_bench.mjs URL PLAYWRIGHT_CORE_DIR. Exit 1 when the median is over 1 s.
import path from "node:path";

const [url, pwDir] = process.argv.slice(2);
const { chromium } = await import(path.join(pwDir, "index.mjs"));
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const times = [];
let listeners = 0;
try {
  for (let i = 0; i < 5; i++) {
    const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    const t0 = Date.now();
    await page.goto(url);
    await page.waitForSelector("body[data-rendered]", { timeout: 60000 });
    times.push(Date.now() - t0);
    listeners = await page.evaluate(() => map.listeners.reduce((n, l) => n + l.rows.length, 0));
    await page.close();
  }
} finally {
  await browser.close();
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(`page first render  ${listeners} listeners  median ${median} ms  worst ${times[times.length - 1]} ms  (target <= 1000 ms)`);
process.exit(median <= 1000 ? 0 : 1);
