/**
 * The plan hash: what makes two runs "the same pipeline" for `--resume` and `dcmflow merge` - every stage's
 * name, id and parameters as written (after `--set` overrides), the plugins, the pipeline's name and its
 * `group:` (when not `file`).
 * Where stages run (CPU or GPU) and how many workers do not enter it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Plan } from "../planner.ts";

/** A canonical JSON text: object keys sorted, so equal values give equal text. */
const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
};

/** What the hash covers, as a plain value. */
export const planIdentity = (plan: Plan) => ({
  name: plan.pipeline.name,
  plugins: plan.pipeline.plugins,
  // Grouping changes what an input is; `file` (the default) leaves the hash as it always was.
  group: plan.pipeline.group === "file" ? undefined : plan.pipeline.group,
  stages: [plan.source, ...plan.stages].map((s) => ({ use: s.decl.use, id: s.decl.id, with: s.decl.with })),
});

/** The hash (SHA-256 hex, first 16 characters) of a plan's identity. */
export const planHash = (plan: Plan): string =>
  createHash("sha256").update(canonical(planIdentity(plan))).digest("hex").slice(0, 16);
