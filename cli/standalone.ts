/**
 * The command line bundled with its own copy of every package (`dist/cli_standalone.js`), for commands
 * that load no plugin: it starts in a fraction of the time the shared, external packages take (see
 * `cli.ts`).
 *
 * @module
 */
import "./main.ts";
