// Type declarations for the nearcast player shim (dist/nearcast.esm.js, and
// window.nearcast from dist/nearcast.js). The contract is docs/wasm-api.md §2.

/** Options of hlsConfig(); only `trackers` is required. The first call on a page starts the engine. */
export interface NearcastOptions {
  /** ws:// or wss:// announce URLs of the nearcast signaling server; the first is used. */
  trackers: string[];
  /** ICE servers for every RTCPeerConnection (default: none). */
  iceServers?: RTCIceServer[];
  /** Segment cache size in bytes (engine default 64 MiB). */
  cacheBytes?: number;
  /** Serve segments to other viewers (default true); false = leech-only. */
  upload?: boolean;
  /** Peers per swarm (engine default 12). */
  maxPeers?: number;
  /** Concurrent uploads (engine default 1: one at a time finishes sooner on a slow uplink). */
  maxUploads?: number;
  /** Upload cap in bytes/s; 0 = no cap. */
  uploadRate?: number;
  /**
   * Swarm ID override: viewers of the same content behind different playlist URLs
   * (CDN hosts, tokens) meet when they share it. The swarm of a fragment is
   * `${swarmId}|${frag.type}|${path of its media playlist URL}`.
   */
  swarmId?: string;
  /** URL of nearcast.wasm (default: next to the shim's own file). */
  wasmURL?: string;
  /** URL of Go's wasm_exec.js (default: next to the shim's own file). Skipped when `Go` is already defined. */
  wasmExecURL?: string;
  /** Base URL for the two defaults above. */
  baseURL?: string;
  /** Upper bound of the deadline given to the engine, ms (default 30000; also ≤ maxLoadTimeMs). */
  maxDeadlineMs?: number;
  /**
   * 0 starts the engine at once. By default it starts after the player has
   * loaded its first fragment itself (at most 3 s after hlsConfig), so that
   * compiling the WASM does not delay the first frame.
   */
  startDelay?: 0;
  /** Log to the console. */
  debug?: boolean;
}

/** The engine's counters (docs/wasm-api.md EngineStats) plus the shim's state. */
export interface NearcastStats {
  /** CDN bytes: the engine's plus those hls.js's own loader fetched for fragments (before ready, fallbacks, init segments). */
  cdnBytes: number;
  peerBytes: number;
  cacheBytes: number;
  prefetchBytes: number;
  uploadedBytes: number;
  cdnSegments: number;
  peerSegments: number;
  cacheSegments: number;
  peerFallbacks: number;
  bannedPeers: number;
  peers: number;
  swarms: number;
  uploads: number;
  /** CDN bytes the engine fetched itself. */
  engineCdnBytes: number;
  /** Fragment bytes and count loaded by the player's own loader. */
  playerBytes: number;
  playerSegments: number;
  ready: boolean;
  supported: boolean;
  state: NearcastState;
  /** Engine protocol version ("" until ready). */
  version: string;
  /** Why the engine is not running, if it failed. */
  error: NearcastError | null;
}

export type NearcastState = "idle" | "loading" | "ready" | "unsupported" | "failed" | "destroyed";

export type NearcastErrorCode = "invalid-argument" | "closed" | "cdn-failed" | "aborted" | "unsupported" | "internal";

export interface NearcastError {
  code: NearcastErrorCode;
  message: string;
}

export type NearcastEventType =
  | "segment"
  | "peer-connected"
  | "peer-disconnected"
  | "peer-banned"
  | "fallback"
  | "upload"
  | "ready"
  | "error"
  | "player-segment";

/**
 * Engine events (docs/wasm-api.md EngineEvent), plus the shim's own:
 * "ready" (engine started), "error" (engine unavailable: playback stays on the CDN),
 * and "player-segment" for each fragment hls.js's own loader fetched (before the
 * engine was ready, fallbacks, init segments; source and origin "cdn").
 */
export interface NearcastEvent {
  type: NearcastEventType;
  /** ms since the epoch */
  time: number;
  swarm?: string;
  seq?: number;
  source?: "cache" | "peer" | "cdn" | string;
  origin?: "peer" | "cdn" | string;
  peer?: string;
  bytes?: number;
  durationMs?: number;
  error?: string;
  /** "error" events */
  code?: NearcastErrorCode;
  /** "ready" events */
  version?: string;
  /** "player-segment" events: the fragment's URL */
  url?: string;
}

/** hls.js's LoaderStats shape (hls.js src/types/loader.ts). */
export interface LoaderStats {
  aborted: boolean;
  loaded: number;
  retry: number;
  total: number;
  chunkCount: number;
  bwEstimate: number;
  loading: { start: number; first: number; end: number };
  parsing: { start: number; end: number };
  buffering: { start: number; first: number; end: number };
}

/** A class implementing hls.js's Loader<FragmentLoaderContext>. */
export interface FragmentLoaderConstructor {
  new (config: any): {
    context: any;
    stats: LoaderStats;
    load(context: any, config: any, callbacks: any): void;
    abort(): void;
    destroy(): void;
    getCacheAge(): number | null;
    getResponseHeader(name: string): string | null;
  };
}

/** The hls.js config fragment to spread into `new Hls({...})`. */
export interface NearcastHlsConfig {
  fLoader: FragmentLoaderConstructor;
}

/** Minimal view of the hls.js class this shim needs. */
export interface HlsClass {
  DefaultConfig: { loader: new (config: any) => any };
  Events?: Record<string, string>;
}

/**
 * hlsConfig returns `{ fLoader }` for hls.js and starts the engine (once per page).
 * Fragments load through hls.js's own loader until the engine is ready, and forever
 * when isSupported() is false or the WASM fails to load.
 */
export function hlsConfig(Hls: HlsClass, options: NearcastOptions): NearcastHlsConfig;

/** WebAssembly, RTCPeerConnection and WebSocket are all present. */
export function isSupported(): boolean;

export interface Nearcast {
  hlsConfig: typeof hlsConfig;
  isSupported: typeof isSupported;
  /** Self-reference, so `const { hlsConfig, isSupported, nearcast } = window.nearcast` works. */
  nearcast: Nearcast;
  stats(): NearcastStats;
  on(type: NearcastEventType | "*", fn: (ev: NearcastEvent) => void): void;
  off(type: NearcastEventType | "*", fn: (ev: NearcastEvent) => void): void;
  /**
   * Bind an Hls instance (recommended): hls.media gives fragment deadlines and its
   * playlists give `upcoming` prefetch hints. Returns `hls`.
   */
  attach<T>(hls: T): T;
  /** Use this element for deadlines (default: hls.media after attach(), else the page's only <video>/<audio>). */
  attachMedia(el: HTMLMediaElement | null): void;
  /** Close the engine; later fragments load through hls.js's own loader. */
  destroy(): Promise<void>;
  /** Resolves true when the engine is ready, false when it is unavailable (or not started). */
  whenReady(): Promise<boolean>;
  readonly ready: boolean;
  readonly state: NearcastState;
  readonly version: string;
}

export const nearcast: Nearcast;
export default nearcast;

declare global {
  interface Window {
    /** Set by the script-tag build, dist/nearcast.js. */
    nearcast: Nearcast;
  }
}
