// Builds dist/: the ESM and script-tag bundles of the shim, minified with source
// maps, plus the hand-written type declarations. `node build.mjs`.
import { build } from "esbuild";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const common = {
  entryPoints: ["src/index.js"],
  bundle: true,
  minify: true,
  sourcemap: true,
  // Browsers with WebAssembly, RTCPeerConnection and native optional chaining.
  target: ["es2020", "chrome91", "firefox90", "safari15"],
  legalComments: "none",
  logLevel: "warning",
};

await mkdir("dist", { recursive: true });
await Promise.all([
  build({
    ...common,
    format: "esm",
    outfile: "dist/nearcast.esm.js",
    define: { "globalThis.__NEARCAST_FORMAT__": '"esm"' },
  }),
  build({
    ...common,
    format: "iife",
    outfile: "dist/nearcast.js",
    define: { "globalThis.__NEARCAST_FORMAT__": '"iife"', "import.meta.url": "undefined" },
  }),
]);
await copyFile("types/nearcast.d.ts", "dist/nearcast.d.ts");

for (const f of ["dist/nearcast.esm.js", "dist/nearcast.js"]) {
  const b = await readFile(f);
  const gz = gzipSync(b, { level: 9 }).length;
  const br = brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  console.log(`${f}: ${b.length} B raw, ${gz} B gzip -9, ${br} B brotli -q11`);
}
