/**
 * JSON Schema of option and config schemas as a user writes them, and short
 * type names for its properties (`integer 1..100`, `"a" | "b"`, `string[]`),
 * as the algorithm listing and the configuration reference show them.
 */
import { z } from "zod";
import { DURATION, formatDuration } from "../core/duration.js";

/**
 * The input-side JSON Schema of `schema`. zod leaves out the default of a
 * field that transforms (a duration: "5s" or 5000), though its default is valid
 * input too; it is put back here so listings show every default.
 */
export function inputJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
    override: ({ zodSchema, jsonSchema }) => {
      const def = zodSchema._zod.def;
      if (def.type === "default" && jsonSchema.default === undefined) {
        jsonSchema.default = (def as z.core.$ZodDefaultDef).defaultValue;
      }
    },
  }) as Record<string, unknown>;
}

/** A short type name for a JSON Schema property: `integer`, `number 0..1`, `"a" | "b"`, `duration 1ms..1h`. */
export function schemaTypeName(property: Record<string, unknown>): string {
  const duration = durationRange(property);
  if (duration) return duration;
  if (Array.isArray(property.enum)) return property.enum.map((value) => JSON.stringify(value)).join(" | ");
  if (property.const !== undefined) return JSON.stringify(property.const);
  const variants = (property.anyOf ?? property.oneOf) as Record<string, unknown>[] | undefined;
  if (Array.isArray(variants)) return variants.map(schemaTypeName).join(" | ");
  const type = Array.isArray(property.type) ? property.type.join(" | ") : String(property.type ?? "any");
  const min = property.minimum ?? property.exclusiveMinimum;
  const max = property.maximum ?? property.exclusiveMaximum;
  if ((type === "number" || type === "integer") && (min !== undefined || max !== undefined)) {
    return `${type} ${min ?? ""}..${max ?? ""}`;
  }
  if (type === "array" && property.items && typeof property.items === "object") {
    return `${schemaTypeName(property.items as Record<string, unknown>)}[]`;
  }
  return type;
}

/** `duration MIN..MAX` for a `…Ms` field (milliseconds or a duration string); undefined for anything else. */
function durationRange(property: Record<string, unknown>): string | undefined {
  const [milliseconds, text] = (property.anyOf ?? []) as Record<string, unknown>[];
  if (milliseconds?.type !== "integer" || text?.pattern !== DURATION.source) return undefined;
  return `duration ${formatDuration(Number(milliseconds.minimum))}..${formatDuration(Number(milliseconds.maximum))}`;
}
