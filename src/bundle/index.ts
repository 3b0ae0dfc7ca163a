/**
 * Recordings as files that travel: bundles (`.ttdb`, docs/bundle-format.md) and the one function every
 * command uses to open its input, a plain trace or a bundle alike.
 */
export { openRecording, openRecordingArg, type Recording, type RecordingImage, type BundleInfo, type OpenOptions } from "./open.js";
export { packRecording, type PackOptions, type PackResult } from "./pack.js";
export { readBookmarks, writeBookmarks, checkBookmark, BOOKMARK_TABLE, type Bookmark } from "./bookmarks.js";
export type { SourceProvider, SourceFile } from "./sources.js";
export { BundleError } from "./errors.js";
export { cacheRoot, CACHE_ENV } from "./cache.js";
export { BUNDLE_VERSION, BUNDLE_SUFFIX, DEFAULT_LIMITS, type BundleLimits, type RecordingMeta } from "./format.js";
