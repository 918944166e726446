/**
 * `switchyard algorithms`: every registered algorithm with its aliases,
 * summary, reference and options, as aligned text or (`--json`) as
 * `AlgorithmListing[]`. Option types and defaults come from each algorithm's
 * options schema (JSON Schema via the registry), so a new algorithm is listed
 * without touching the CLI.
 */
import { schemaTypeName } from "../algorithms/json-schema.js";
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
      type: schemaTypeName(property),
      required: schema.required?.includes(name) ?? false,
    };
    if (property.default !== undefined) option.default = property.default;
    if (typeof property.description === "string") option.description = property.description;
    return option;
  });
}
