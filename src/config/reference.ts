/**
 * The configuration reference, generated from the schema so it cannot drift:
 * `switchyard.schema.json` (JSON Schema, for editors and other tools) and
 * `docs/config.md` (every key with its type, default and description, then
 * every algorithm's options). `scripts/config-reference.mjs` writes both;
 * test/config-reference.test.ts fails when the checked-in files differ.
 */
import { inputJsonSchema, schemaTypeName } from "../algorithms/json-schema.js";
import { describeOptions, listAlgorithms } from "../algorithms/registry.js";
import { configSchema } from "./schema.js";

type JsonSchema = Record<string, unknown>;

/** The generated files, by path from the repository root, as they are checked in. */
export function configReferenceFiles(): Record<string, string> {
  return {
    "switchyard.schema.json": `${JSON.stringify(configJsonSchema(), null, 2)}\n`,
    "docs/config.md": configReferenceMarkdown(),
  };
}

/** The config file's JSON Schema, as `switchyard.schema.json` holds it. */
export function configJsonSchema(): JsonSchema {
  const schema = inputJsonSchema(configSchema);
  const { $schema, ...rest } = schema;
  return { $schema, title: "Switchyard configuration", ...rest };
}

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

/** `docs/config.md`. Throws when a key has no description, so none is left undocumented. */
export function configReferenceMarkdown(): string {
  const root = configJsonSchema();
  const lines = [
    "# Configuration reference",
    "",
    "<!-- Generated from src/config/schema.ts by `npm run config-reference`; do not edit by hand. -->",
    "",
    "Every key of a Switchyard config file (YAML or JSON), generated from the schema that validates it;",
    "[`switchyard.schema.json`](../switchyard.schema.json) is the same as JSON Schema, for editors.",
    "`listeners[]` is a key of every item of the list `listeners`; `pools.<name>` is any pool's name.",
    'A `duration` is whole milliseconds or a number with a unit: `"250ms"`, `"5s"`, `"1.5m"`, `"1h"`.',
    "Environment variables and CLI flags that override keys: see the README's Configuration section.",
  ];
  for (const [key, property] of Object.entries(propertiesOf(root))) {
    lines.push("", `## ${key}`, "", ...table(rowsOf(key, property, requiredOf(root).includes(key), "")));
  }
  lines.push(
    "",
    "## Algorithm options",
    "",
    "`pools.<name>.algorithm` is an algorithm's name, or an object with its `name` and options, such as",
    "`{ name: consistent-hash, hashKey: path }`. `switchyard algorithms` lists the same.",
  );
  for (const definition of listAlgorithms()) {
    const aliases = definition.aliases?.length ? ` (${definition.aliases.join(", ")})` : "";
    lines.push("", `### ${definition.name}${aliases}`, "", definition.summary);
    const options = describeOptions(definition);
    const rows = Object.entries(propertiesOf(options)).flatMap(([key, property]) =>
      rowsOf(key, property, requiredOf(options).includes(key), `algorithm ${definition.name}: `),
    );
    lines.push("", ...(rows.length > 0 ? table(rows) : ["No options."]));
  }
  return `${lines.join("\n")}\n`;
}

/** The row of `key` and those of every key inside it; `owner` names where it is, for errors. */
function rowsOf(key: string, property: JsonSchema, required: boolean, owner: string): Row[] {
  const rows = [row(key, property, required, owner)];
  for (const [path, inner] of nested(key, property)) {
    for (const [child, childProperty] of Object.entries(propertiesOf(inner))) {
      rows.push(...rowsOf(`${path}.${child}`, childProperty, requiredOf(inner).includes(child), owner));
    }
  }
  return rows;
}

/** The object schemas inside a property, with the path their keys go under. */
function nested(path: string, property: JsonSchema): [string, JsonSchema][] {
  if (property.type === "array" && isSchema(property.items)) return nested(`${path}[]`, property.items);
  if (property.type === "object" && !property.properties && isSchema(property.additionalProperties)) {
    return nested(`${path}.<name>`, property.additionalProperties);
  }
  if (property.properties) return [[path, property]];
  const variants = (property.anyOf ?? []) as JsonSchema[];
  return variants.flatMap((variant) => (variant.properties ? [[path, variant] as [string, JsonSchema]] : []));
}

function row(key: string, property: JsonSchema, required: boolean, owner: string): Row {
  const description = property.description;
  if (typeof description !== "string" || description === "") {
    throw new Error(`config reference: ${owner}${key} has no description (add .describe() to its schema)`);
  }
  const fallback = required ? "required" : "";
  return {
    key,
    type: schemaTypeName(property),
    default: property.default === undefined ? fallback : JSON.stringify(property.default),
    description,
  };
}

function table(rows: Row[]): string[] {
  const cell = (text: string) => text.replaceAll("|", "\\|");
  return [
    "| key | type | default | description |",
    "|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| \`${r.key}\` | ${cell(r.type)} | ${r.default === "" || r.default === "required" ? r.default : `\`${cell(r.default)}\``} | ${cell(r.description)} |`,
    ),
  ];
}

function propertiesOf(schema: JsonSchema): Record<string, JsonSchema> {
  return (schema.properties ?? {}) as Record<string, JsonSchema>;
}

function requiredOf(schema: JsonSchema): string[] {
  return (schema.required ?? []) as string[];
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && Object.keys(value).length > 0;
}
