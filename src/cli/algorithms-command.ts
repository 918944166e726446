/**
 * `switchyard algorithms`: every registered algorithm with its aliases,
 * summary, reference and options, as aligned text or (`--json`) as
 * `AlgorithmListing[]`. Option types and defaults come from each algorithm's
 * options schema (JSON Schema via the registry), so a new algorithm is listed
 * without touching the CLI.
 */
import { type AlgorithmDefinition, describeOptions, listAlgorithms } from "../algorithms/registry.js";
import { table } from "./text-format.js";

/** One algorithm as listed by `switchyard algorithms --json`. */
export interface AlgorithmListing {
  name: string;
  aliases: string[];
  summary: string;
  reference?: string;
  options: OptionListing[];
}

export interface OptionListing {
  name: string;
  type: string;
  required: boolean;
  default?: unknown;
  description?: string;
}

export function algorithmListings(): AlgorithmListing[] {
  return listAlgorithms().map((definition) => {
    const listing: AlgorithmListing = {
      name: definition.name,
      aliases: [...(definition.aliases ?? [])],
      summary: definition.summary,
      options: optionListings(definition),
    };
    if (definition.reference) listing.reference = definition.reference;
    return listing;
  });
}

export function algorithmsCommand(options: { json?: boolean }): void {
  const listings = algorithmListings();
  if (options.json) {
    process.stdout.write(`${JSON.stringify(listings, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${listings.map(formatListing).join("\n\n")}\n`);
}

/** One text block: name and aliases, summary, reference, then an options table. */
function formatListing(listing: AlgorithmListing): string {
  const lines = [
    listing.aliases.length ? `${listing.name} (aliases: ${listing.aliases.join(", ")})` : listing.name,
  ];
  lines.push(`  ${listing.summary}`);
  if (listing.reference) lines.push(`  reference: ${listing.reference}`);
  if (listing.options.length === 0) {
    lines.push("  options: none");
  } else {
    lines.push("  options:");
    const rows = listing.options.map((option) => [
      option.name,
      option.type,
      option.default !== undefined
        ? `default ${JSON.stringify(option.default)}`
        : option.required
          ? "required"
          : "optional",
      option.description ?? "",
    ]);
    lines.push(...table(rows).map((row) => `    ${row}`));
  }
  return lines.join("\n");
}

function optionListings(definition: AlgorithmDefinition): OptionListing[] {
  const schema = describeOptions(definition) as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => {
    const option: OptionListing = {
      name,
      type: schemaType(property),
      required: schema.required?.includes(name) ?? false,
    };
    if (property.default !== undefined) option.default = property.default;
    if (typeof property.description === "string") option.description = property.description;
    return option;
  });
}

/** A short type name for a JSON Schema property: `integer`, `number 0..1`, `"a" | "b"`. */
function schemaType(property: Record<string, unknown>): string {
  if (Array.isArray(property.enum)) return property.enum.map((value) => JSON.stringify(value)).join(" | ");
  if (property.const !== undefined) return JSON.stringify(property.const);
  const variants = (property.anyOf ?? property.oneOf) as Record<string, unknown>[] | undefined;
  if (Array.isArray(variants)) return variants.map(schemaType).join(" | ");
  const type = Array.isArray(property.type) ? property.type.join(" | ") : String(property.type ?? "any");
  const min = property.minimum ?? property.exclusiveMinimum;
  const max = property.maximum ?? property.exclusiveMaximum;
  if ((type === "number" || type === "integer") && (min !== undefined || max !== undefined)) {
    return `${type} ${min ?? ""}..${max ?? ""}`;
  }
  if (type === "array" && property.items && typeof property.items === "object") {
    return `${schemaType(property.items as Record<string, unknown>)}[]`;
  }
  return type;
}
