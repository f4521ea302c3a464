/**
 * dcmflow's version, read from package.json so it is written in one place.
 *
 * @module
 */
import pkg from "../package.json" with { type: "json" };

/** The package version, e.g. "0.1.0". */
export const VERSION: string = pkg.version;
