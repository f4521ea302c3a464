/**
 * The dcmflow command line (`cli/main.ts`; see there for the commands), launched so that it starts fast:
 *
 * 1. A first look at the arguments (`cli/launch.ts`): a `dcmflow run` that will use worker threads starts
 *    them now, so that they load their modules while this thread loads its own.
 * 2. The command runs from the self-contained bundle (`dist/cli_standalone.js`: its own copy of every
 *    package, which loads in a fraction of the time) unless it may load plugins, whose stages must share
 *    dcmflow's copy of `effect` (then `cli/main.ts` with the shared packages). From source both are the
 *    same modules.
 *
 * @module
 */
import { launchPlan } from "./cli/launch.ts";
import { args } from "./core/platform.ts";
import { prestartWorkers } from "./core/run/pool.ts";

const launch = await launchPlan(args());
if (launch.workers > 0) {
  const entry = launch.standalone
    ? new URL("./worker_standalone.ts", import.meta.url)
    : new URL("./worker.ts", import.meta.url);
  prestartWorkers(entry, launch.workers);
}
if (launch.standalone) await import(new URL("./cli/standalone.ts", import.meta.url).href);
else await import("./cli/main.ts");
