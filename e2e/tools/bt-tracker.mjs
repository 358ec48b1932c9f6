// bt-tracker.mjs runs npm's bittorrent-tracker (the WebTorrent reference
// tracker) as a WebSocket-only tracker on 127.0.0.1 (or on BT_TRACKER_HOST),
// for the benchmark's p2p-media-loader arm. It prints
// "listening ws://HOST:PORT" once ready.
import Server from "bittorrent-tracker/server";

const server = new Server({ udp: false, http: false, ws: true, stats: false, trustProxy: false });
server.on("error", (err) => {
  console.error("bt-tracker:", err.message);
  process.exit(1);
});
server.on("warning", () => {});
const host = process.env.BT_TRACKER_HOST || "127.0.0.1";
server.listen(0, host, () => {
  console.log(`listening ws://${host}:${server.ws.address().port}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
