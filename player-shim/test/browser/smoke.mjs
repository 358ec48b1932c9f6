// Manual real-browser smoke test (not part of `npm test`): headless Chromium plays
// a local HLS stream through hls.min.js (worker transmux: buffers get transferred
// and detached) + dist/nearcast.js, with a fake engine bridge in the page.
//
//   npm run build && node test/browser/smoke.mjs
//
// Needs /usr/bin/chromium and ffmpeg. Traffic stays on 127.0.0.1 (no WebRTC: the
// engine is faked). Modes, each in a fresh browser:
//   good   a contract-abiding fake engine (fresh copy per load, cache hits on replay)
//   bad    a broken fake engine that hands out the buffer it caches, so replayed
//          segments come back detached: the shim must fall back, never pass 0 bytes
//   range  the stream is one file with EXT-X-BYTERANGE segments (rangeEnd mapping)
import { createServer } from "node:http";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, statSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, extname } from "node:path";

const root = new URL("../../", import.meta.url).pathname;
const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";
const dir = mkdtempSync(join(tmpdir(), "nearcast-shim-smoke-"));

function ffmpeg(out, extra) {
  mkdirSync(join(dir, out), { recursive: true });
  execFileSync("ffmpeg", [
    "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
    "-t", "16", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
    "-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", ...extra,
    join(dir, out, "index.m3u8"),
  ]);
}
ffmpeg("ts", []);
ffmpeg("range", ["-hls_flags", "single_file"]);

const types = { ".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".js": "text/javascript", ".html": "text/html", ".map": "application/json" };
let report;
let done;
const server = createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (req.method === "POST" && url.pathname === "/result") {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      res.end("ok");
      report = JSON.parse(body);
      done?.();
    });
    return;
  }
  let file;
  if (url.pathname === "/page.html") file = join(root, "test/browser/page.html");
  else if (url.pathname === "/vendor/hls.min.js") file = join(root, "node_modules/hls.js/dist/hls.min.js");
  else if (url.pathname.startsWith("/nearcast/")) file = join(root, "dist", url.pathname.slice(10));
  else if (url.pathname.startsWith("/media/")) file = join(dir, url.pathname.slice(7));
  if (!file || file.includes("..") || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end();
    return;
  }
  const data = readFileSync(file);
  const h = { "Content-Type": types[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store", "Accept-Ranges": "bytes" };
  const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? "");
  if (m) {
    const a = +m[1], b = Math.min(+m[2], data.length - 1);
    res.writeHead(206, { ...h, "Content-Range": `bytes ${a}-${b}/${data.length}` }).end(data.subarray(a, b + 1));
  } else {
    res.writeHead(200, h).end(data);
  }
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const port = server.address().port;

async function run(mode) {
  report = null;
  const profile = mkdtempSync(join(tmpdir(), "nearcast-chromium-"));
  const src = mode === "range" ? "/media/range/index.m3u8" : "/media/ts/index.m3u8";
  const page = `http://127.0.0.1:${port}/page.html?mode=${mode}&src=${encodeURIComponent(src)}`;
  const proc = spawn(chromium, [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--autoplay-policy=no-user-gesture-required", "--mute-audio", `--user-data-dir=${profile}`, page,
  ], { stdio: "ignore" });
  const ok = await Promise.race([
    new Promise((r) => (done = () => r(true))),
    new Promise((r) => setTimeout(() => r(false), 60000)),
  ]);
  proc.kill("SIGTERM");
  await new Promise((r) => proc.once("exit", r));
  rmSync(profile, { recursive: true, force: true });
  return ok ? report : { error: "no report within 60 s" };
}

let failed = false;
for (const mode of ["good", "bad", "range"]) {
  const r = await run(mode);
  const problems = [];
  if (r.error) problems.push(r.error);
  else {
    if (r.fatal.length) problems.push(`fatal hls.js errors: ${r.fatal.join(", ")}`);
    if (!(r.phase1 >= 5)) problems.push(`phase 1 reached only ${r.phase1} s`);
    if (!(r.phase2 >= 3)) problems.push(`phase 2 reached only ${r.phase2} s`);
    if (r.zeroLength) problems.push(`${r.zeroLength} zero-length fragments reached hls.js`);
    if (!r.engineOK) problems.push("no fragment was served by the engine");
    if (mode === "good" && !r.cacheHits) problems.push("no cache hit on replay");
    if (mode === "bad" && !(r.stats.playerSegments > 0)) problems.push("detached answers did not fall back to the player's loader");
    if (mode === "range" && !r.ranges) problems.push("no byte-range request reached the engine");
  }
  failed ||= problems.length > 0;
  console.log(`${problems.length ? "FAIL" : "ok  "} ${mode}: ${JSON.stringify(r)}`);
  for (const p of problems) console.log(`     - ${p}`);
}
server.close();
rmSync(dir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
