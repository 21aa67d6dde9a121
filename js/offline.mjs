// After esbuild: the bundles must never reach for a CDN. plotly.js carries one default URL
// (topojsonURL, used only by geo traces, which the basic bundle lacks); point it at a local
// path so the offline promise holds to the letter, and fail the build on any other CDN URL.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

const STATIC = "../gtwidgets/static";
const bundles = readdirSync(STATIC, { recursive: true }).filter((f) => String(f).endsWith(".js"));
for (const path of bundles.map((f) => `${STATIC}/${f}`)) {
  const code = readFileSync(path, "utf8").replace(/https:\/\/cdn\.plot\.ly\/un\//g, "./topojson/");
  const cdn = code.match(/https?:\/\/(cdn\.|unpkg\.com|esm\.sh|cdn\.jsdelivr)[^"'`\s]*/);
  if (cdn) {
    console.error(`${path} still names a CDN: ${cdn[0]}`);
    process.exit(1);
  }
  writeFileSync(path, code);
}
