/** Introspection of zod schemas: the keys an object accepts, for "did you mean" suggestions. */
import type { PathSegment } from "../errors.js";

/** Keys of an object schema, looking through optional/default/pipe wrappers; empty if not an object. */
export function objectKeys(schema: unknown): string[] {
  const shape = objectShape(schema);
  return shape ? Object.keys(shape) : [];
}

interface SchemaDef {
  type?: string;
  innerType?: unknown;
  in?: unknown;
  shape?: Record<string, unknown>;
  element?: unknown;
  valueType?: unknown;
  options?: unknown[];
}

function defOf(schema: unknown): SchemaDef | undefined {
  return (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  for (let depth = 0; depth < 16; depth++) {
    const def = defOf(current);
    if (!def) return current;
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === "pipe") current = def.in;
    else return current;
  }
  return current;
}

function objectShape(schema: unknown): Record<string, unknown> | undefined {
  const def = defOf(unwrap(schema));
  if (def?.type === "union") {
    // `false | { ... }` and the like: the keys of the first object form.
    for (const option of def.options ?? []) {
      const shape = objectShape(option);
      if (shape) return shape;
    }
  }
  return def?.type === "object" ? def.shape : undefined;
}

/**
 * Known keys of the object at `path` in `schema`, for "did you mean"
 * suggestions; undefined when the path does not lead to a fixed-shape object.
 */
export function schemaKeysAt(path: readonly PathSegment[], schema: unknown): string[] | undefined {
  let current: unknown = schema;
  for (const segment of path) {
    const def = defOf(unwrap(current));
    if (!def) return undefined;
    if (def.type === "object" && typeof segment === "string") current = def.shape?.[segment];
    else if (def.type === "array" && typeof segment === "number") current = def.element;
    else if (def.type === "record") current = def.valueType;
    else return undefined;
    if (current === undefined) return undefined;
  }
  const shape = objectShape(current);
  return shape ? Object.keys(shape) : undefined;
}
