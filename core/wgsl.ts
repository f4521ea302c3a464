/**
 * WGSL sources of stages: a file beside the module that uses it, read on first use.
 *
 * The built-in stages load `shaders/*.wgsl` through {@link wgslFile} exactly as a third-party plugin loads
 * its own `.wgsl` file, so a plugin's WGSL can live in a file of its own:
 *
 * ```ts
 * const clip = wgslFile(import.meta.url, "./clip.wgsl");
 * // clip.text: the WGSL (read once, when a GPU kernel is first built); clip.source: "clip.wgsl" for messages
 * ```
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A WGSL source: its text and where it came from (for compile errors at file:line:column). */
export interface WgslSource {
  /** The WGSL code. */
  readonly text: string;
  /** A short name for messages, e.g. "shaders/window.wgsl" or "clip.wgsl". */
  readonly source: string;
}

/**
 * Texts registered ahead of time by URL (a bundled build embeds its shaders here, where the files are not
 * beside the bundle).
 */
const embedded = new Map<string, string>();

/** Registers the text of a WGSL file by its URL (used by bundled builds; files on disk need nothing). */
export const embedWgsl = (url: string, text: string): void => {
  embedded.set(url, text);
};

/** Short display name of a WGSL file URL: from `shaders/` on when it is one of dcmflow's, else its name. */
const displayName = (url: URL): string => {
  const path = url.protocol === "file:" ? fileURLToPath(url) : url.pathname;
  const at = path.replace(/\\/g, "/").lastIndexOf("/shaders/");
  return at >= 0 ? path.slice(at + 1) : path.replace(/^.*[\\/]/, "");
};

/**
 * The WGSL file at `path` relative to `base` (a module's `import.meta.url`). The file is read when its
 * text is first used, so importing a stage never touches the disk; a missing file fails then, naming it.
 */
export const wgslFile = (base: string | URL, path: string): WgslSource => {
  const url = new URL(path, base);
  let text: string | undefined;
  return {
    source: displayName(url),
    get text(): string {
      text ??= embedded.get(url.href) ?? readFileSync(url, "utf8");
      return text;
    },
  };
};

/** An inline WGSL source (for stages that generate their code). */
export const wgslText = (text: string, source: string): WgslSource => ({ text, source });
