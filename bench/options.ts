/**
 * The benches' command-line options: `--name value` pairs and bare `--flag`s, read from `Deno.args`.
 *
 * @module
 */

/** The value after `--name`, else `fallback`. */
export const textOption = (name: string, fallback: string): string => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
};

/** The number after `--name`, else `fallback`. */
export const numberOption = (name: string, fallback: number): number =>
  Number(textOption(name, String(fallback)));

/** Whether `--name` was given. */
export const flagOption = (name: string): boolean => Deno.args.includes(`--${name}`);
